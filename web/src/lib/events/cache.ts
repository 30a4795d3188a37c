// What each pushed event does to the TanStack Query cache: the change it names is written
// where the data is (the environment list, the environment, the session, the deployments)
// so the page changes at once, and what the event cannot tell (workspaces a status change
// brought, a session this tab has never seen, a deployment's metadata) is read again.

import type { QueryClient } from "@tanstack/react-query"

import type { Deployment, Environment, Session } from "@/lib/api/types"
import type { LiveEvent } from "@/lib/events/events"
import { queryKeys } from "@/lib/queries"

/** Applies `fn` to the environment `id` in the list and in its own entry; returns whether
 * `fn` found what it looked for in either. */
function patchEnvironment(
  client: QueryClient,
  id: string,
  fn: (env: Environment) => Environment | null,
): boolean {
  let found = false
  const patch = (env: Environment): Environment => {
    if (env.id !== id) return env
    const next = fn(env)
    if (next === null) return env
    found = true
    return next
  }
  client.setQueryData<Environment>(queryKeys.environment(id), (env) => env && patch(env))
  client.setQueryData<Environment[]>(queryKeys.environments, (list) => list?.map(patch))
  return found
}

function patchSession(
  client: QueryClient,
  environmentId: string,
  sessionId: string,
  fn: (session: Session) => Session,
): boolean {
  const found = patchEnvironment(client, environmentId, (env) =>
    env.sessions.some((s) => s.id === sessionId)
      ? { ...env, sessions: env.sessions.map((s) => (s.id === sessionId ? fn(s) : s)) }
      : null,
  )
  client.setQueryData<Session>(queryKeys.session(sessionId), (s) => s && fn(s))
  return found
}

function refreshEnvironment(client: QueryClient, id: string): void {
  void client.invalidateQueries({ queryKey: queryKeys.environment(id), exact: true })
  void client.invalidateQueries({ queryKey: queryKeys.environments, exact: true })
}

/** The cached sessions on the same branch of the same environment as `sessionId`. */
function sessionsOnBranch(client: QueryClient, environmentId: string, sessionId: string): string[] {
  const env =
    client.getQueryData<Environment>(queryKeys.environment(environmentId)) ??
    client.getQueryData<Environment[]>(queryKeys.environments)?.find((e) => e.id === environmentId)
  const branch = env?.sessions.find((s) => s.id === sessionId)?.gitBranch
  if (branch === undefined) return [sessionId]
  return env?.sessions.filter((s) => s.gitBranch === branch).map((s) => s.id) ?? [sessionId]
}

export function applyEvent(client: QueryClient, event: LiveEvent): void {
  switch (event.type) {
    case "ready":
    case "resync":
      refetchEverything(client)
      return
    case "session.activity": {
      const found = patchSession(client, event.environmentId, event.sessionId, (s) => ({
        ...s,
        activity: event.activity,
      }))
      if (!found) refreshEnvironment(client, event.environmentId)
      // A session that stopped working may have changed files and made commits.
      if (event.activity.state !== "working") {
        for (const id of sessionsOnBranch(client, event.environmentId, event.sessionId)) {
          void client.invalidateQueries({ queryKey: queryKeys.git(id) })
        }
      }
      return
    }
    case "session.status": {
      const found = patchSession(client, event.environmentId, event.sessionId, (s) => ({ ...s, status: event.status }))
      if (!found) refreshEnvironment(client, event.environmentId)
      return
    }
    case "environment.status":
      patchEnvironment(client, event.environmentId, (env) => ({ ...env, status: event.status, error: event.error ?? null }))
      // Starting, stopping and creating change its workspaces and sessions too.
      refreshEnvironment(client, event.environmentId)
      return
    case "workspace.status":
      patchEnvironment(client, event.environmentId, (env) =>
        env.workspaces.some((w) => w.id === event.workspaceId)
          ? {
              ...env,
              workspaces: env.workspaces.map((w) => (w.id === event.workspaceId ? { ...w, status: event.status } : w)),
            }
          : null,
      )
      // The event has no branch, error or disk: a new workspace, or a stopped one's reason.
      refreshEnvironment(client, event.environmentId)
      return
    case "workspace.devcontainer":
      // The event tells only the status: the log and the rest are read again.
      void client.invalidateQueries({ queryKey: queryKeys.devcontainers(event.environmentId), exact: true })
      return
    case "deployment.status": {
      const withStatus = (d: Deployment): Deployment =>
        d.id === event.deploymentId ? { ...d, status: event.status } : d
      client.setQueryData<Deployment[]>(queryKeys.deploymentList(event.environmentId), (list) => list?.map(withStatus))
      client.setQueryData<Deployment>(queryKeys.deployment(event.environmentId, event.deploymentId), (d) => d && withStatus(d))
      // Its metadata (commit, duration) and deployments started elsewhere.
      void client.invalidateQueries({ queryKey: queryKeys.deploymentList(event.environmentId), exact: true })
      return
    }
    case "notification":
      // Told to the user (see features/notifications); the session's activity event
      // carries the change itself.
      return
  }
}

/** After a reconnect or a `resync`: anything may have changed while no event came. */
export function refetchEverything(client: QueryClient): void {
  for (const queryKey of [queryKeys.environments, ["sessions"], ["deployments"], ["git"]]) {
    void client.invalidateQueries({ queryKey })
  }
}
