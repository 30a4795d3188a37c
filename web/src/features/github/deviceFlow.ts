// GitHub's device flow from the browser's side: the server holds the device code and asks
// GitHub; the page asks the server, as often as the server says it may.

import { ApiError } from "@/lib/api/errors"
import type { GitHubPoll } from "@/lib/api/types"

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>

/** Waits `ms`, or rejects with the signal's reason as soon as it is aborted. */
export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error)
      return
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort)
      resolve()
    }, ms)
    const abort = () => {
      clearTimeout(timer)
      reject(signal.reason as Error)
    }
    signal.addEventListener("abort", abort, { once: true })
  })

export interface PollOptions {
  flowId: string
  /** Seconds to wait before the first poll: the `interval` of the initiate answer. */
  interval: number
  poll: (flowId: string, signal: AbortSignal) => Promise<GitHubPoll>
  signal: AbortSignal
  sleep?: Sleep
  /** Called after each `pending` answer, with the interval that will be waited next. */
  onPending?: (answer: GitHubPoll) => void
  /** Failures in a row (network, 5xx) tolerated before giving up. */
  maxFailures?: number
}

/** A failure that may pass on the next try. */
function isTransient(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 0 || error.status >= 500)
}

/**
 * Polls until the flow ends and returns its last answer (`connected`, `expired` or
 * `denied`). Between polls it waits the `interval` of the latest answer: GitHub answers
 * `slow_down` by raising it, and polling faster would get the flow refused.
 * Rejects when `signal` is aborted, or with the error of a poll that failed for good.
 */
export async function pollDeviceFlow(options: PollOptions): Promise<GitHubPoll> {
  const wait = options.sleep ?? sleep
  const maxFailures = options.maxFailures ?? 3
  let interval = usable(options.interval, 5)
  let failures = 0
  for (;;) {
    await wait(interval * 1000, options.signal)
    let answer: GitHubPoll
    try {
      answer = await options.poll(options.flowId, options.signal)
    } catch (error) {
      if (options.signal.aborted || !isTransient(error) || ++failures >= maxFailures) throw error
      continue
    }
    failures = 0
    if (answer.status !== "pending") return answer
    interval = usable(answer.interval, interval)
    options.onPending?.({ ...answer, interval })
  }
}

/** A positive number of seconds, or the fallback. */
function usable(seconds: unknown, fallback: number): number {
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 ? seconds : fallback
}
