import { useMutation, useQueryClient } from "@tanstack/react-query"

import { apiCalls } from "@/lib/api/endpoints"
import type { CreateSessionInput, Environment, Session, UpdateSessionInput } from "@/lib/api/types"
import { queryKeys } from "@/lib/queries"

/** Writes a session into its environment in the cache (list and detail). */
function useStoreSession() {
  const queryClient = useQueryClient()
  return (session: Session, remove = false) => {
    const patch = (env: Environment): Environment => {
      if (env.id !== session.environmentId) return env
      const others = env.sessions.filter((s) => s.id !== session.id)
      if (remove) return { ...env, sessions: others }
      const known = env.sessions.some((s) => s.id === session.id)
      return {
        ...env,
        sessions: known ? env.sessions.map((s) => (s.id === session.id ? session : s)) : [...env.sessions, session],
      }
    }
    queryClient.setQueryData<Environment>(queryKeys.environment(session.environmentId), (env) => env && patch(env))
    queryClient.setQueryData<Environment[]>(queryKeys.environments, (list) => list?.map(patch))
    if (remove) queryClient.removeQueries({ queryKey: queryKeys.session(session.id) })
    else queryClient.setQueryData(queryKeys.session(session.id), session)
  }
}

function useRefreshEnvironment() {
  const queryClient = useQueryClient()
  return (environmentId: string) =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.environment(environmentId) }),
      queryClient.invalidateQueries({ queryKey: queryKeys.environments, exact: true }),
    ])
}

export function useCreateSession() {
  const store = useStoreSession()
  const refresh = useRefreshEnvironment()
  return useMutation({
    mutationFn: (input: CreateSessionInput) => apiCalls.createSession(input),
    onSuccess: (session) => {
      store(session)
      void refresh(session.environmentId)
    },
  })
}

export function useUpdateSession() {
  const store = useStoreSession()
  const refresh = useRefreshEnvironment()
  return useMutation({
    mutationFn: ({ id, input }: { id: string; input: UpdateSessionInput }) => apiCalls.updateSession(id, input),
    onSuccess: (session) => {
      store(session)
      void refresh(session.environmentId)
    },
  })
}

export function useDeleteSession() {
  const store = useStoreSession()
  const refresh = useRefreshEnvironment()
  return useMutation({
    mutationFn: (session: Session) => apiCalls.deleteSession(session.id),
    onSuccess: (_kept, session) => {
      store(session, true)
      void refresh(session.environmentId)
    },
  })
}
