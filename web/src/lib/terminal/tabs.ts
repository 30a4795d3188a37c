// The terminal tabs open on an environment's terminal page, kept per browser tab so that a
// reload brings them back.

const key = (environmentId: string) => `craftastic.terminal-tabs.${environmentId}`

export function readOpenTabs(environmentId: string, storage: Storage | undefined = safeSessionStorage()): string[] {
  try {
    const raw = storage?.getItem(key(environmentId))
    if (!raw) return []
    const parsed = JSON.parse(raw) as unknown
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string" && x !== "") : []
  } catch {
    return []
  }
}

export function writeOpenTabs(
  environmentId: string,
  tabs: readonly string[],
  storage: Storage | undefined = safeSessionStorage(),
): void {
  try {
    storage?.setItem(key(environmentId), JSON.stringify(tabs))
  } catch {
    // Storage full or unavailable: tabs last for this page only.
  }
}

/** The tabs with `id` included (appended when new). */
export function withTab(tabs: readonly string[], id: string): string[] {
  return tabs.includes(id) ? [...tabs] : [...tabs, id]
}

/** The tabs without `id`, and which one to show next if `id` was the visible one: its right
 * neighbour, else its left one, else none. */
export function withoutTab(tabs: readonly string[], id: string): { tabs: string[]; next: string | null } {
  const index = tabs.indexOf(id)
  const rest = tabs.filter((t) => t !== id)
  if (index === -1) return { tabs: rest, next: null }
  return { tabs: rest, next: rest[index] ?? rest[index - 1] ?? null }
}

function safeSessionStorage(): Storage | undefined {
  try {
    return typeof window === "undefined" ? undefined : window.sessionStorage
  } catch {
    return undefined
  }
}
