import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"

import { apiCalls } from "@/lib/api/endpoints"
import { isNotFound, isUnavailable } from "@/lib/api/errors"
import type { DeployInput, Deployment, DeploymentBinding } from "@/lib/api/types"
import { useFallbackPoll, useIsLive } from "@/lib/events/live"
import { queryKeys, shouldRetry } from "@/lib/queries"
import { isFinal, withDeployment } from "@/features/deployments/deployments"

/** While the event stream is down, a deployment under way is asked about this often (the
 * server asks Coolify in turn); while it flows, `deployment.status` events say each change. */
export const STATUS_POLL_MS = 2_000
/** Bindings are not pushed: those an admin made elsewhere show up within this time. */
export const BINDINGS_POLL_MS = 30_000

/** 503 is "Coolify is not configured here": a second try will not pass. */
const retry = (count: number, error: unknown) => !isUnavailable(error) && shouldRetry(count, error)

export function useDeployments(environmentId: string) {
  const fallback = useFallbackPoll()
  return useQuery({
    queryKey: queryKeys.deploymentList(environmentId),
    queryFn: ({ signal }) => apiCalls.listDeployments(environmentId, signal),
    retry,
    refetchInterval: (query) =>
      isUnavailable(query.state.error) || isNotFound(query.state.error) ? false : fallback,
  })
}

/** Follows a deployment that has not ended: its status once, then every 2 s while no events
 * are pushed, each answer also written into the environment's list, until it is final. */
export function useFollowDeployment(deployment: Deployment) {
  const queryClient = useQueryClient()
  const live = useIsLive()
  return useQuery({
    queryKey: queryKeys.deployment(deployment.environmentId, deployment.id),
    queryFn: async ({ signal }) => {
      const fresh = await apiCalls.deploymentStatus(deployment.id, signal)
      queryClient.setQueryData<Deployment[]>(queryKeys.deploymentList(deployment.environmentId), (list) =>
        list ? withDeployment(list, fresh) : list,
      )
      return fresh
    },
    enabled: !isFinal(deployment.status),
    retry,
    refetchInterval: (query) => {
      const { data, error } = query.state
      if (live || (data && isFinal(data.status))) return false
      return isNotFound(error) || isUnavailable(error) ? false : STATUS_POLL_MS
    },
  })
}

export function useDeploy(environmentId: string) {
  const queryClient = useQueryClient()
  return useMutation({
    mutationFn: (input: Omit<DeployInput, "environmentId">) => apiCalls.deploy({ environmentId, ...input }),
    onSuccess: (deployment) => {
      queryClient.setQueryData<Deployment[]>(queryKeys.deploymentList(environmentId), (list) =>
        withDeployment(list, deployment),
      )
      void queryClient.invalidateQueries({ queryKey: queryKeys.deploymentList(environmentId) })
    },
  })
}

/** The Coolify applications an admin bound to the environment: the only ones it deploys. */
export function useDeploymentBindings(environmentId: string) {
  return useQuery({
    queryKey: queryKeys.deploymentBindings(environmentId),
    queryFn: ({ signal }) => apiCalls.listDeploymentBindings(environmentId, signal),
    refetchInterval: (query) => (isNotFound(query.state.error) ? false : BINDINGS_POLL_MS),
  })
}

/** Binds (`bind: true`) or unbinds an application; admins only. */
export function useChangeBinding(environmentId: string) {
  const queryClient = useQueryClient()
  const key = queryKeys.deploymentBindings(environmentId)
  return useMutation({
    mutationFn: async ({ appId, bind }: { appId: string; bind: boolean }) => {
      if (bind) return apiCalls.bindApplication(environmentId, appId)
      await apiCalls.unbindApplication(environmentId, appId)
      return null
    },
    onSuccess: (binding: DeploymentBinding | null, { appId }) => {
      queryClient.setQueryData<DeploymentBinding[]>(key, (list = []) =>
        binding
          ? list.some((b) => b.appId === binding.appId)
            ? list
            : [...list, binding]
          : list.filter((b) => b.appId !== appId),
      )
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: key }),
  })
}
