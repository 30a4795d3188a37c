import { describe, expect, it } from "vitest"

import { eventsUntil, formatClock, parseCast, play, type ReplaySink } from "@/lib/recording/asciicast"

const header = JSON.stringify({ version: 2, width: 100, height: 30, timestamp: 1_700_000_000, title: "main" })

function cast(...events: unknown[]): string {
  return [header, ...events.map((e) => JSON.stringify(e))].join("\n") + "\n"
}

function recorder(): ReplaySink & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    reset: () => calls.push("reset"),
    write: (data) => calls.push(`write ${data}`),
    resize: (cols, rows) => calls.push(`resize ${cols}x${rows}`),
  }
}

describe("parseCast", () => {
  it("reads the header and the output and resize events", () => {
    const c = parseCast(cast([0, "o", "$ "], [0.5, "r", "80x24"], [1.25, "o", "hi\r\n"]))
    expect(c).toMatchObject({ cols: 100, rows: 30, title: "main", startedAt: 1_700_000_000_000, duration: 1.25 })
    expect(c.events).toEqual([
      { time: 0, kind: "o", data: "$ " },
      { time: 0.5, kind: "r", cols: 80, rows: 24 },
      { time: 1.25, kind: "o", data: "hi\r\n" },
    ])
  })

  it("shortens long pauses and never lets time go back", () => {
    const c = parseCast(cast([0, "o", "a"], [3600, "o", "b"], [3599, "o", "c"], [3601, "o", "d"]))
    expect(c.events.map((e) => e.time)).toEqual([0, 2, 2, 3])
    expect(c.duration).toBe(3)
  })

  it("skips lines that are not events it knows", () => {
    const c = parseCast(
      [header, "not json", '[1,"o"]', '["1","o","x"]', '[1,"i","typed"]', '[1,"r","wide"]', '[2,"o","ok"]'].join("\n"),
    )
    expect(c.events).toEqual([{ time: 2, kind: "o", data: "ok" }])
  })

  it("refuses what is not asciicast v2", () => {
    expect(() => parseCast('{"version":1}\n')).toThrow(/asciicast v2/)
    expect(() => parseCast("<html>")).toThrow(/asciicast v2/)
  })

  it("takes an empty recording", () => {
    expect(parseCast(header)).toMatchObject({ events: [], duration: 0 })
  })
})

describe("replaying", () => {
  it("finds the events up to a time", () => {
    const { events } = parseCast(cast([0, "o", "a"], [1, "o", "b"], [1, "o", "c"], [2, "o", "d"]))
    expect([-1, 0, 0.5, 1, 1.5, 2, 9].map((t) => eventsUntil(events, t))).toEqual([0, 1, 1, 3, 3, 4, 4])
  })

  it("writes output between resizes in one piece", () => {
    const { events } = parseCast(cast([0, "o", "a"], [0, "o", "b"], [1, "r", "80x24"], [2, "o", "c"]))
    const sink = recorder()
    play(events, 0, events.length, sink)
    expect(sink.calls).toEqual(["write ab", "resize 80x24", "write c"])
  })

  it("shows times as a clock", () => {
    expect([0, 9.9, 75, 3725].map(formatClock)).toEqual(["0:00", "0:09", "1:15", "1:02:05"])
  })
})
