import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query"

import { apiCalls } from "@/lib/api/endpoints"
import { ApiError } from "@/lib/api/errors"
import type { GitHubRepositoryPage } from "@/lib/api/types"
import { queryKeys, shouldRetry } from "@/lib/queries"

export const REPOSITORIES_PER_PAGE = 30

export function useGitHubStatus() {
  return useQuery({
    queryKey: queryKeys.githubStatus,
    queryFn: ({ signal }) => apiCalls.githubStatus(signal),
    // 503 is "this server has no GitHub": it will not pass on a second try.
    retry: (count, error) => !(error instanceof ApiError && error.status === 503) && shouldRetry(count, error),
    staleTime: 30_000,
  })
}

/** Pages are numbered from 1; the next is asked for only while the last said `hasMore`. */
export function nextRepositoryPage(last: GitHubRepositoryPage, pages: GitHubRepositoryPage[]): number | undefined {
  return last.hasMore ? pages.length + 1 : undefined
}

export function useGitHubRepositories(enabled: boolean) {
  return useInfiniteQuery({
    queryKey: queryKeys.githubRepositories,
    queryFn: ({ pageParam, signal }) =>
      apiCalls.githubRepositories({ page: pageParam, perPage: REPOSITORIES_PER_PAGE }, signal),
    initialPageParam: 1,
    getNextPageParam: nextRepositoryPage,
    enabled,
    staleTime: 60_000,
  })
}

/** Linking or unlinking changes the status, the profile's username and the repositories. */
export function useRefreshGitHub() {
  const queryClient = useQueryClient()
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.github }),
      queryClient.invalidateQueries({ queryKey: queryKeys.me }),
    ])
}

export function useDisconnectGitHub() {
  const refresh = useRefreshGitHub()
  return useMutation({
    mutationFn: () => apiCalls.githubDisconnect(),
    onSettled: () => refresh(),
  })
}
