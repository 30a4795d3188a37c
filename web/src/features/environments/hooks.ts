import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"

import { apiCalls } from "@/lib/api/endpoints"
import { isNotFound } from "@/lib/api/errors"
import type {
  CreateEnvironmentInput,
  EgressPolicy,
  Environment,
  EnvironmentVariables,
  SizeInput,
} from "@/lib/api/types"
import { FALLBACK_POLL_MS, useIsLive } from "@/lib/events/live"
import { queryKeys } from "@/lib/queries"

/** While the event stream is down, busy environments are read again this often. */
export const BUSY_POLL_MS = 2_000

export function isBusy(status: string): boolean {
  return status === "creating" || status === "deleting"
}

/**
 * How often to read environments again. Pushed events keep them fresh, except that no event
 * says an environment deleted elsewhere is gone: one being deleted is still polled. While
 * the stream is down, busy ones are polled quickly and the rest slowly.
 */
export function pollInterval(environments: Environment[] | Environment | undefined, live: boolean): number | false {
  const list = environments === undefined ? [] : Array.isArray(environments) ? environments : [environments]
  if (live) return list.some((e) => e.status === "deleting") ? BUSY_POLL_MS : false
  return list.some((e) => isBusy(e.status)) ? BUSY_POLL_MS : FALLBACK_POLL_MS
}

export function useEnvironments() {
  const live = useIsLive()
  return useQuery({
    queryKey: queryKeys.environments,
    queryFn: ({ signal }) => apiCalls.listEnvironments(signal),
    refetchInterval: (query) => pollInterval(query.state.data, live),
  })
}

export function useEnvironment(id: string) {
  const live = useIsLive()
  return useQuery({
    queryKey: queryKeys.environment(id),
    queryFn: ({ signal }) => apiCalls.getEnvironment(id, signal),
    // A deleted (404) environment is not asked for again; other failures keep polling. Its
    // workspaces' disk use is measured now and then and not pushed: read it slowly.
    refetchInterval: (query) =>
      isNotFound(query.state.error) ? false : pollInterval(query.state.data, live) || FALLBACK_POLL_MS,
  })
}

/** Puts a fresh copy of an environment into the list and its own entry. */
function useStoreEnvironment() {
  const queryClient = useQueryClient()
  return (env: Environment) => {
    queryClient.setQueryData(queryKeys.environment(env.id), env)
    queryClient.setQueryData<Environment[]>(queryKeys.environments, (list) =>
      list ? (list.some((e) => e.id === env.id) ? list.map((e) => (e.id === env.id ? env : e)) : [env, ...list]) : list,
    )
  }
}

function useMarkStatus() {
  const queryClient = useQueryClient()
  return (id: string, status: string) => {
    queryClient.setQueryData<Environment>(queryKeys.environment(id), (env) => (env ? { ...env, status } : env))
    queryClient.setQueryData<Environment[]>(queryKeys.environments, (list) =>
      list?.map((e) => (e.id === id ? { ...e, status } : e)),
    )
  }
}

export function useCreateEnvironment() {
  const queryClient = useQueryClient()
  const store = useStoreEnvironment()
  return useMutation({
    mutationFn: (input: CreateEnvironmentInput) => apiCalls.createEnvironment(input),
    onSuccess: (env) => {
      store(env)
      void queryClient.invalidateQueries({ queryKey: queryKeys.environments })
    },
  })
}

export function useStopEnvironment() {
  const queryClient = useQueryClient()
  const store = useStoreEnvironment()
  return useMutation({
    mutationFn: (id: string) => apiCalls.stopEnvironment(id),
    onSuccess: (env) => {
      store(env)
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: queryKeys.environments }),
  })
}

export function useStartEnvironment() {
  const queryClient = useQueryClient()
  const store = useStoreEnvironment()
  return useMutation({
    mutationFn: (id: string) => apiCalls.startEnvironment(id),
    onSuccess: (env) => {
      store(env)
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: queryKeys.environments }),
  })
}

export function useSetEgressPolicy() {
  const store = useStoreEnvironment()
  return useMutation({
    mutationFn: ({ id, policy }: { id: string; policy: EgressPolicy }) => apiCalls.setEgressPolicy(id, policy),
    onSuccess: (env) => {
      store(env)
    },
  })
}

export function useSetIdleStop() {
  const store = useStoreEnvironment()
  return useMutation({
    mutationFn: ({ id, minutes }: { id: string; minutes: number }) => apiCalls.setIdleStop(id, minutes),
    onSuccess: (env) => {
      store(env)
    },
  })
}

export function useSetSize() {
  const queryClient = useQueryClient()
  const store = useStoreEnvironment()
  return useMutation({
    mutationFn: ({ id, size }: { id: string; size: SizeInput }) => apiCalls.setSize(id, size),
    onSuccess: (env) => {
      store(env)
      void queryClient.invalidateQueries({ queryKey: queryKeys.usage(env.id) })
    },
  })
}

/** How often what the workspaces use is read again while the page shows it. */
export const USAGE_POLL_MS = 30_000

/** What the environment's workspaces use now (memory read once per running workspace). */
export function useUsage(environment: Environment) {
  return useQuery({
    queryKey: queryKeys.usage(environment.id),
    queryFn: ({ signal }) => apiCalls.getUsage(environment.id, signal),
    enabled: environment.status === "running",
    refetchInterval: USAGE_POLL_MS,
  })
}

export function useVariables(id: string) {
  return useQuery({
    queryKey: queryKeys.variables(id),
    queryFn: ({ signal }) => apiCalls.getVariables(id, signal),
  })
}

/** Keeps the variables a save answered, and reads the environment again (its sessions
 * tell which still run with the old ones). Saving itself is a plain call, not a mutation,
 * so that no cache keeps the secrets sent. */
export function useStoreVariables(id: string) {
  const queryClient = useQueryClient()
  return (variables: EnvironmentVariables) => {
    queryClient.setQueryData(queryKeys.variables(id), variables)
    void queryClient.invalidateQueries({ queryKey: queryKeys.environment(id), exact: true })
  }
}

export function useDeleteEnvironment() {
  const queryClient = useQueryClient()
  const markStatus = useMarkStatus()
  return useMutation({
    mutationFn: (id: string) => apiCalls.deleteEnvironment(id),
    onMutate: (id) => {
      markStatus(id, "deleting")
    },
    onSuccess: (_data, id) => {
      // The environment and everything read under it (variables, usage, devcontainers): a
      // refetch of any of them would be a 404.
      queryClient.removeQueries({ queryKey: queryKeys.environment(id) })
      queryClient.setQueryData<Environment[]>(queryKeys.environments, (list) => list?.filter((e) => e.id !== id))
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: queryKeys.environments, exact: true }),
  })
}
