import { describe, expect, it, vi } from "vitest"

import { ApiError } from "@/lib/api/errors"
import type { GitHubPoll } from "@/lib/api/types"
import { pollDeviceFlow, sleep } from "@/features/github/deviceFlow"

/** A sleep that records what it was asked to wait and returns at once. */
function recordingSleep() {
  const waits: number[] = []
  const fn = vi.fn((ms: number, signal: AbortSignal) => {
    waits.push(ms)
    return signal.aborted ? Promise.reject(new Error("aborted")) : Promise.resolve()
  })
  return { fn, waits }
}

function answers(...list: (GitHubPoll | Error)[]) {
  let i = 0
  return vi.fn(() => {
    const next = list[i++]
    if (next === undefined) throw new Error("polled once too often")
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next)
  })
}

describe("pollDeviceFlow", () => {
  it("waits the interval of the latest answer before each poll", async () => {
    const wait = recordingSleep()
    const poll = answers(
      { status: "pending", interval: 5 },
      { status: "pending", interval: 10 },
      { status: "connected", username: "ada", interval: 10 },
    )
    const pending = vi.fn()
    const result = await pollDeviceFlow({
      flowId: "flow-1",
      interval: 5,
      poll,
      signal: new AbortController().signal,
      sleep: wait.fn,
      onPending: pending,
    })
    expect(result).toEqual({ status: "connected", username: "ada", interval: 10 })
    // First wait from the initiate answer, then 5 s and (after slow_down) 10 s.
    expect(wait.waits).toEqual([5_000, 5_000, 10_000])
    expect(poll).toHaveBeenCalledTimes(3)
    expect(poll.mock.calls[0]).toEqual(["flow-1", expect.any(AbortSignal)])
    expect(pending.mock.calls.map(([a]) => (a as GitHubPoll).interval)).toEqual([5, 10])
  })

  it("ends on expired and denied", async () => {
    for (const status of ["expired", "denied"] as const) {
      const result = await pollDeviceFlow({
        flowId: "f",
        interval: 1,
        poll: answers({ status, interval: 5 }),
        signal: new AbortController().signal,
        sleep: recordingSleep().fn,
      })
      expect(result.status).toBe(status)
    }
  })

  it("keeps the last interval when an answer gives none that makes sense", async () => {
    const wait = recordingSleep()
    await pollDeviceFlow({
      flowId: "f",
      interval: 7,
      poll: answers({ status: "pending", interval: 0 }, { status: "denied", interval: 7 }),
      signal: new AbortController().signal,
      sleep: wait.fn,
    })
    expect(wait.waits).toEqual([7_000, 7_000])
  })

  it("tries again after a network failure, and gives up after three in a row", async () => {
    const network = () => new ApiError(0, "network", "Cannot reach the server")
    const recovered = await pollDeviceFlow({
      flowId: "f",
      interval: 1,
      poll: answers(network(), network(), { status: "connected", interval: 1 }),
      signal: new AbortController().signal,
      sleep: recordingSleep().fn,
    })
    expect(recovered.status).toBe("connected")

    const failing = pollDeviceFlow({
      flowId: "f",
      interval: 1,
      poll: answers(network(), network(), network()),
      signal: new AbortController().signal,
      sleep: recordingSleep().fn,
    })
    await expect(failing).rejects.toMatchObject({ status: 0 })
  })

  it("gives up at once on an answer that will not change (404 unknown flow)", async () => {
    const poll = answers(new ApiError(404, "not_found", "This sign-in flow is unknown"))
    await expect(
      pollDeviceFlow({ flowId: "f", interval: 1, poll, signal: new AbortController().signal, sleep: recordingSleep().fn }),
    ).rejects.toMatchObject({ status: 404 })
    expect(poll).toHaveBeenCalledTimes(1)
  })

  it("stops polling when aborted", async () => {
    vi.useFakeTimers()
    try {
      const controller = new AbortController()
      const poll = answers({ status: "pending", interval: 5 })
      const result = pollDeviceFlow({ flowId: "f", interval: 5, poll, signal: controller.signal, sleep })
      const settled = result.catch((e: unknown) => e)
      await vi.advanceTimersByTimeAsync(5_000)
      expect(poll).toHaveBeenCalledTimes(1)
      controller.abort(new Error("cancelled"))
      expect(await settled).toEqual(new Error("cancelled"))
      await vi.advanceTimersByTimeAsync(60_000)
      expect(poll).toHaveBeenCalledTimes(1)
    } finally {
      vi.useRealTimers()
    }
  })
})
