import type { LimitKey } from "@/lib/api/types"

/** The limited things, in the order the pages show them. */
export const LIMITS: { key: LimitKey; label: string; setting: string }[] = [
  { key: "environments", label: "Environments", setting: "MAX_ENVIRONMENTS_PER_USER" },
  { key: "runningWorkspaces", label: "Running workspaces", setting: "MAX_RUNNING_WORKSPACES_PER_USER" },
  { key: "sessions", label: "Sessions", setting: "MAX_SESSIONS_PER_USER" },
  { key: "terminals", label: "Open terminals", setting: "MAX_TERMINALS_PER_USER" },
  { key: "deploymentsInFlight", label: "Deployments in flight", setting: "MAX_DEPLOYMENTS_IN_FLIGHT_PER_USER" },
]

/** The largest limit the server accepts. */
export const MAX_LIMIT = 10_000

/** Why `raw` (an input's text; empty means the default) is not a limit, or null. */
export function limitProblem(raw: string): string | null {
  const text = raw.trim()
  if (text === "") return null
  if (!/^\d+$/.test(text)) return "A whole number, or empty for the default."
  if (Number(text) > MAX_LIMIT) return `At most ${MAX_LIMIT}.`
  return null
}
