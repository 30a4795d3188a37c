import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query"

import { apiCalls } from "@/lib/api/endpoints"
import { isNotFound } from "@/lib/api/errors"
import type { CommitInput, GitLogPage, PushInput } from "@/lib/api/types"
import { queryKeys } from "@/lib/queries"

/** Files change as the user works in the terminal. While events are pushed, the status and
 * the log are read again when a session on the branch stops working (a command ended, an
 * agent finished its turn: see `lib/events/cache.ts`), and besides this often, for an agent
 * that edits for long; while they are not, this often. TanStack Query pauses intervals in
 * hidden tabs. */
export const STATUS_POLL_MS = 15_000
/** Commits made in a terminal show up in the log within this time at worst. */
export const LOG_POLL_MS = 60_000
export const LOG_PAGE_SIZE = 20

export function useGitStatus(sessionId: string) {
  return useQuery({
    queryKey: queryKeys.gitStatus(sessionId),
    queryFn: ({ signal }) => apiCalls.gitStatus(sessionId, signal),
    // A session that is gone stays gone; anything else (a stopped workspace) may come back.
    refetchInterval: (query) => (isNotFound(query.state.error) ? false : STATUS_POLL_MS),
  })
}

export function useGitDiff(sessionId: string, file: string, staged: boolean) {
  return useQuery({
    queryKey: queryKeys.gitDiff(sessionId, file, staged),
    queryFn: ({ signal }) => apiCalls.gitDiff(sessionId, { file, staged }, signal),
  })
}

/** Commits before `pages`: where the next page starts. */
export function nextLogOffset(last: GitLogPage, pages: GitLogPage[]): number | undefined {
  if (!last.hasMore) return undefined
  return pages.reduce((n, page) => n + page.commits.length, 0)
}

export function useGitLog(sessionId: string) {
  return useInfiniteQuery({
    queryKey: queryKeys.gitLog(sessionId),
    queryFn: ({ pageParam, signal }) =>
      apiCalls.gitLog(sessionId, { limit: LOG_PAGE_SIZE, offset: pageParam }, signal),
    initialPageParam: 0,
    getNextPageParam: nextLogOffset,
    refetchInterval: (query) => (isNotFound(query.state.error) ? false : LOG_POLL_MS),
  })
}

/** After a commit or a push every view of the workspace is out of date. */
function useRefreshGit() {
  const queryClient = useQueryClient()
  return (sessionId: string) => queryClient.invalidateQueries({ queryKey: queryKeys.git(sessionId) })
}

export function useCommit(sessionId: string) {
  const refresh = useRefreshGit()
  return useMutation({
    mutationFn: (input: CommitInput) => apiCalls.gitCommit(sessionId, input),
    onSettled: () => refresh(sessionId),
  })
}

export function useFetchRemote(sessionId: string) {
  const refresh = useRefreshGit()
  return useMutation({
    mutationFn: () => apiCalls.gitFetch(sessionId),
    onSettled: () => refresh(sessionId),
  })
}

export function usePush(sessionId: string) {
  const refresh = useRefreshGit()
  return useMutation({
    mutationFn: (input: PushInput = {}) => apiCalls.gitPush(sessionId, input),
    onSettled: () => refresh(sessionId),
  })
}
