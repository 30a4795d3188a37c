import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"

import { apiCalls } from "@/lib/api/endpoints"
import type { Agent, CreateAgentInput, UpdateAgentInput } from "@/lib/api/types"
import { queryKeys } from "@/lib/queries"

export function useAgents({ enabled = true }: { enabled?: boolean } = {}) {
  return useQuery({
    queryKey: queryKeys.agents,
    queryFn: ({ signal }) => apiCalls.listAgents(signal),
    enabled,
    staleTime: 30_000,
  })
}

/** Writes an agent into the cached list (or takes it out). */
function useStoreAgent() {
  const queryClient = useQueryClient()
  return (agent: Agent, remove = false) => {
    queryClient.setQueryData<Agent[]>(queryKeys.agents, (list) => {
      if (!list) return list
      const others = list.filter((a) => a.id !== agent.id)
      if (remove) return others
      return list.some((a) => a.id === agent.id) ? list.map((a) => (a.id === agent.id ? agent : a)) : [...list, agent]
    })
    void queryClient.invalidateQueries({ queryKey: queryKeys.agents })
  }
}

/**
 * Creating and updating agents. Plain calls rather than mutations on purpose: a mutation
 * keeps its variables (here the credential) in the query client's mutation cache after it
 * settles, and a credential must not outlive its request in the browser.
 */
export function useSaveAgent() {
  const store = useStoreAgent()
  return {
    create: async (input: CreateAgentInput): Promise<Agent> => {
      const agent = await apiCalls.createAgent(input)
      store(agent)
      return agent
    },
    update: async (id: string, input: UpdateAgentInput): Promise<Agent> => {
      const agent = await apiCalls.updateAgent(id, input)
      store(agent)
      return agent
    },
  }
}

export function useDeleteAgent() {
  const store = useStoreAgent()
  return useMutation({
    mutationFn: (agent: Agent) => apiCalls.deleteAgent(agent.id),
    onSuccess: (_none, agent) => {
      store(agent, true)
    },
  })
}
