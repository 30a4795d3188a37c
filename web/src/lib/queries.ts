// Query keys and the query client's defaults.

import { QueryClient } from "@tanstack/react-query"

import { ApiError } from "@/lib/api/errors"

export const queryKeys = {
  me: ["me"] as const,
  myLimits: ["me", "limits"] as const,
  adminUsers: ["admin", "users"] as const,
  notificationSettings: ["notifications", "settings"] as const,
  environments: ["environments"] as const,
  environment: (id: string) => ["environments", id] as const,
  devcontainers: (environmentId: string) => ["environments", environmentId, "devcontainers"] as const,
  /** Below the environment's key: read again with it. */
  variables: (id: string) => ["environments", id, "variables"] as const,
  usage: (id: string) => ["environments", id, "usage"] as const,
  session: (id: string) => ["sessions", id] as const,
  recording: (sessionId: string) => ["sessions", sessionId, "recording"] as const,
  checkEnvironmentName: ["check", "environment-name"] as const,
  checkSessionName: (environmentId: string) => ["check", "session-name", environmentId] as const,
  checkBranch: (environmentId: string) => ["check", "branch", environmentId] as const,
  /** Everything git knows about one session's workspace: status, diffs and log below it. */
  git: (sessionId: string) => ["git", sessionId] as const,
  gitStatus: (sessionId: string) => ["git", sessionId, "status"] as const,
  gitDiff: (sessionId: string, file: string, staged: boolean) => ["git", sessionId, "diff", file, staged] as const,
  gitLog: (sessionId: string) => ["git", sessionId, "log"] as const,
  github: ["github"] as const,
  githubStatus: ["github", "status"] as const,
  githubRepositories: ["github", "repositories"] as const,
  agents: ["agents"] as const,
  /** Everything about one environment's deployments: the list and each one's status. */
  deployments: (environmentId: string) => ["deployments", environmentId] as const,
  deploymentList: (environmentId: string) => ["deployments", environmentId, "list"] as const,
  deployment: (environmentId: string, id: string) => ["deployments", environmentId, "status", id] as const,
  deploymentBindings: (environmentId: string) => ["deployments", environmentId, "bindings"] as const,
}

/** Retry only what may pass on a second try: the network and 5xx, twice. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (failureCount >= 2) return false
  if (error instanceof ApiError) return error.status === 0 || error.status >= 500
  return false
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: shouldRetry,
        staleTime: 2_000,
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  })
}
