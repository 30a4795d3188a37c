// What sessions are doing, in the order the user should look at them: those that need the
// user first (asking to approve an action, then waiting for input), then those working,
// then the rest.

import type { Environment, Session } from "@/lib/api/types"

/** From the state that needs the user most; a state this version does not know is last. */
export const ACTIVITY_ORDER = ["permission", "waiting", "working", "idle", "exited", "unknown"] as const

export function activityRank(state: string): number {
  const rank = (ACTIVITY_ORDER as readonly string[]).indexOf(state)
  return rank < 0 ? ACTIVITY_ORDER.length : rank
}

/** A session asks something of the user. */
export function needsYou(state: string): boolean {
  return state === "permission" || state === "waiting"
}

export interface SessionAndEnvironment {
  session: Session
  environment: Environment
}

function sinceMs(s: Session): number {
  const at = Date.parse(s.activity.since)
  return Number.isNaN(at) ? 0 : at
}

/**
 * The order of the attention view: by state; among those that need the user or work, the one
 * that has done so longest first (it has waited longest); among the rest, the latest change
 * first. Ties go by environment and session name, so the list does not shuffle.
 */
export function compareForAttention(a: SessionAndEnvironment, b: SessionAndEnvironment): number {
  const rank = activityRank(a.session.activity.state) - activityRank(b.session.activity.state)
  if (rank !== 0) return rank
  const waitedLongest = activityRank(a.session.activity.state) <= activityRank("working")
  const since = waitedLongest
    ? sinceMs(a.session) - sinceMs(b.session)
    : sinceMs(b.session) - sinceMs(a.session)
  if (since !== 0) return since
  return (
    a.environment.name.localeCompare(b.environment.name) ||
    a.session.name.localeCompare(b.session.name) ||
    a.session.id.localeCompare(b.session.id)
  )
}

/** Every session of every environment, in the attention view's order. */
export function sessionsForAttention(environments: Environment[]): SessionAndEnvironment[] {
  return environments
    .flatMap((environment) => environment.sessions.map((session) => ({ session, environment })))
    .sort(compareForAttention)
}

export interface AttentionGroup {
  key: "needs-you" | "working" | "other"
  title: string
  items: SessionAndEnvironment[]
}

/** The view's sections, empty ones left out. */
export function attentionGroups(sorted: SessionAndEnvironment[]): AttentionGroup[] {
  const groups: AttentionGroup[] = [
    { key: "needs-you", title: "Needs you", items: sorted.filter((x) => needsYou(x.session.activity.state)) },
    { key: "working", title: "Working", items: sorted.filter((x) => x.session.activity.state === "working") },
    {
      key: "other",
      title: "Idle and ended",
      items: sorted.filter((x) => !needsYou(x.session.activity.state) && x.session.activity.state !== "working"),
    },
  ]
  return groups.filter((g) => g.items.length > 0)
}

/** How many sessions need the user (the count in the top bar). */
export function needsYouCount(environments: Environment[] | undefined): number {
  return (environments ?? []).reduce(
    (n, env) => n + env.sessions.filter((s) => needsYou(s.activity.state)).length,
    0,
  )
}

/** "for 12 s", "for 3 min", "for 2 h", "for 4 days": how long since `since`. */
export function durationSince(since: string, now: number): string {
  const at = Date.parse(since)
  // A browser clock behind the server's would give a negative time.
  const seconds = Number.isNaN(at) ? 0 : Math.max(0, Math.floor((now - at) / 1000))
  if (seconds < 60) return `for ${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `for ${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `for ${hours} h`
  return `for ${Math.floor(hours / 24)} days`
}
