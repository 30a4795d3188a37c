// Craftastic's OpenCode plugin: tells Craftastic what OpenCode in this tmux pane is doing.
// The image's /etc/opencode/opencode.json loads it, added to the user's own plugins. It
// only passes events on: `craftastic-hook opencode EVENT`, with the event's properties as
// JSON on standard input, turns each into a state. One call at a time, in the order of the
// events, so that a later state never lands before an earlier one; it never holds OpenCode
// up, and a hook that fails or hangs is dropped.
import { spawn } from "node:child_process"

const HOOK = "/usr/local/bin/craftastic-hook"
const FORWARDED = new Set([
  "session.status",
  "session.error",
  "permission.asked",
  "permission.replied",
  "question.asked",
  "question.replied",
  "question.rejected",
])
const MAX_INPUT = 65536
const DEADLINE_MS = 10000

function tell(type, properties) {
  return new Promise((resolve) => {
    let child
    try {
      child = spawn(HOOK, ["opencode", type], { stdio: ["pipe", "ignore", "ignore"] })
    } catch {
      resolve()
      return
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), DEADLINE_MS)
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    child.on("error", done)
    child.on("close", done)
    child.stdin.on("error", () => {})
    let input = ""
    try {
      input = JSON.stringify(properties ?? {})
    } catch {}
    child.stdin.end(input.length > MAX_INPUT ? "{}" : input)
  })
}

export const CraftasticActivity = async () => {
  if (!process.env.TMUX_PANE) return {}
  // Subagents' sessions go busy and idle on their own while the session the user sees
  // works on; only that one is told.
  const subagents = new Set()
  let queue = Promise.resolve()
  return {
    event: async ({ event }) => {
      const type = event?.type
      const properties = event?.properties ?? {}
      if ((type === "session.created" || type === "session.updated") && properties.info?.parentID) {
        subagents.add(properties.info.id)
      }
      if (!FORWARDED.has(type) || subagents.has(properties.sessionID)) return
      queue = queue.then(() => tell(type, properties))
    },
  }
}
