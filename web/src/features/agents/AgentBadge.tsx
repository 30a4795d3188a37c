import { AgentIcon } from "@/features/agents/AgentIcon"
import { agentKind } from "@/features/agents/agentTypes"
import { useAgents } from "@/features/agents/hooks"

/** Marks an agent session: the agent's icon and name (or that the agent is gone). */
export function AgentBadge({ agentId }: { agentId: string | null | undefined }) {
  const agents = useAgents()
  const agent = agents.data?.find((a) => a.id === agentId)
  const kind = agent ? agentKind(agent.type) : undefined
  const name = agent?.name ?? (agents.isPending ? "agent" : "deleted agent")
  const title = agent
    ? `Agent session: ${kind ? `${kind.label} (${kind.command})` : agent.type} as ${agent.name}`
    : agents.isPending
      ? "Agent session"
      : "Agent session; its agent has been deleted, so it opens a shell when started again"
  return (
    <span
      data-testid="session-agent-badge"
      data-agent-name={agent?.name}
      title={title}
      className="border-info/30 bg-info/10 text-info inline-flex h-5 max-w-48 items-center gap-1 rounded-md border px-1.5 text-xs font-medium"
    >
      <AgentIcon type={agent?.type ?? ""} className="size-3 shrink-0" />
      <span className="sr-only">Agent </span>
      <span className="truncate">{name}</span>
    </span>
  )
}
