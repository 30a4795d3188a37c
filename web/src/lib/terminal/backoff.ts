// When to try the terminal socket again: 0.5 s, 1 s, 2 s, 4 s, 8 s, then every 10 s.

export interface BackoffOptions {
  baseMs?: number
  maxMs?: number
  /** Up to this fraction of the delay is taken off at random, so that many tabs that lost
   * the server together do not all come back in the same instant. */
  jitter?: number
  random?: () => number
}

export const BACKOFF_BASE_MS = 500
export const BACKOFF_MAX_MS = 10_000

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? BACKOFF_BASE_MS
  const max = options.maxMs ?? BACKOFF_MAX_MS
  const jitter = options.jitter ?? 0
  const random = options.random ?? Math.random
  const n = Math.max(0, Math.floor(attempt))
  // 2^n overflows to Infinity long after the cap is reached; min() keeps it finite.
  const raw = Math.min(max, base * 2 ** Math.min(n, 30))
  return Math.round(raw * (1 - jitter * random()))
}

/** The first `count` delays without jitter, e.g. for display or tests. */
export function backoffSchedule(count: number, options: Omit<BackoffOptions, "jitter" | "random"> = {}): number[] {
  return Array.from({ length: count }, (_, i) => backoffDelay(i, { ...options, jitter: 0 }))
}
