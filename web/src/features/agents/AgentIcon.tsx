import { createElement } from "react"

import { agentIcon } from "@/features/agents/agentTypes"
import { cn } from "@/lib/utils"

/** The agent type's icon, decorative: the text next to it names the type. */
export function AgentIcon({ type, className }: { type: string; className?: string }) {
  // The icon is one of a few module-level components, picked by type, never made here.
  return createElement(agentIcon(type), { className: cn("size-4", className), "aria-hidden": true })
}
