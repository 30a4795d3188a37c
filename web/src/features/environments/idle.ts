/** The longest the server takes: a week. */
export const MAX_IDLE_MINUTES = 7 * 24 * 60

/** `1 hour`, `90 minutes`, `3 hours`: as the server says it in a stopped workspace's reason. */
export function describeIdle(minutes: number): string {
  if (minutes === 1) return "1 minute"
  if (minutes === 60) return "1 hour"
  if (minutes % 60 === 0) return `${String(minutes / 60)} hours`
  return `${String(minutes)} minutes`
}

/** What is wrong with the minutes as typed, or null. */
export function minutesProblem(raw: string): string | null {
  const text = raw.trim()
  if (!/^\d+$/.test(text)) return "Write a whole number of minutes."
  const minutes = Number(text)
  if (minutes < 1 || minutes > MAX_IDLE_MINUTES) {
    return `From 1 to ${String(MAX_IDLE_MINUTES)} minutes (a week).`
  }
  return null
}
