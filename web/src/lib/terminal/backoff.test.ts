import { describe, expect, it } from "vitest"

import { backoffDelay, backoffSchedule } from "@/lib/terminal/backoff"

describe("reconnect backoff", () => {
  it("doubles from half a second up to ten seconds", () => {
    expect(backoffSchedule(8)).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000])
  })

  it("stays at the cap however many attempts failed", () => {
    expect(backoffDelay(1000)).toBe(10_000)
    expect(backoffDelay(-3)).toBe(500)
  })

  it("takes jitter off the delay, never adds it", () => {
    expect(backoffDelay(3, { jitter: 0.5, random: () => 1 })).toBe(2000)
    expect(backoffDelay(3, { jitter: 0.5, random: () => 0 })).toBe(4000)
    expect(backoffDelay(10, { jitter: 0.2, random: () => 0.5 })).toBe(9000)
  })
})
