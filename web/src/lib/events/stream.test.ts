import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"

import { AuthLostError } from "@/lib/api/errors"
import type { LiveEvent } from "@/lib/events/events"
import { EventStream, type EventStreamOptions, type LiveState } from "@/lib/events/stream"

/** A streamed answer the test writes into; it fails like fetch's when its signal aborts. */
function streamed(signal: AbortSignal) {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    },
  })
  signal.addEventListener("abort", () => {
    controller.error(new DOMException("aborted", "AbortError"))
  })
  const encoder = new TextEncoder()
  return {
    response: new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } }),
    send: (text: string) => {
      controller.enqueue(encoder.encode(text))
    },
    end: () => {
      controller.close()
    },
  }
}

function setUp(overrides: Partial<EventStreamOptions> = {}) {
  const connections: ReturnType<typeof streamed>[] = []
  const states: LiveState[] = []
  const events: LiveEvent[] = []
  const onReady = vi.fn()
  const stream = new EventStream({
    open: (signal) => {
      const c = streamed(signal)
      connections.push(c)
      return Promise.resolve(c.response)
    },
    onEvent: (e) => events.push(e),
    onReady,
    onState: (s) => states.push(s),
    random: () => 0,
    ...overrides,
  })
  const last = () => connections[connections.length - 1]!
  const state = () => states[states.length - 1]
  return { stream, connections, states, events, onReady, last, state }
}

const flush = () => vi.advanceTimersByTimeAsync(0)

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe("EventStream", () => {
  it("is live once the server says ready, and hands over the events it knows", async () => {
    const t = setUp()
    t.stream.start()
    await flush()
    expect(t.state()).toEqual({ kind: "connecting" })
    t.last().send("event: ready\ndata: {}\n\n: keep-alive\n\n")
    await flush()
    expect(t.state()).toEqual({ kind: "live" })
    expect(t.onReady).toHaveBeenCalledTimes(1)
    t.last().send('event: session.status\ndata: {"sessionId":"s1","environmentId":"e1","status":"dead"}\n\n')
    t.last().send('event: session.renamed\ndata: {"sessionId":"s1"}\n\nevent: resync\ndata: {}\n\n')
    await flush()
    expect(t.events).toEqual([
      { type: "session.status", sessionId: "s1", environmentId: "e1", status: "dead" },
      { type: "resync" },
    ])
    t.stream.stop()
    expect(t.state()).toEqual({ kind: "off" })
  })

  it("tries again after 1 s, doubling up to 30 s", async () => {
    const delays: number[] = []
    const t = setUp({
      open: () => Promise.resolve(new Response("busy", { status: 503 })),
      onState: (s) => {
        if (s.kind === "reconnecting") delays.push(s.retryAt - Date.now())
      },
    })
    t.stream.start()
    for (let i = 0; i < 7; i++) {
      await flush()
      await vi.advanceTimersByTimeAsync(delays[delays.length - 1] ?? 0)
    }
    expect(delays.slice(0, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
    t.stream.stop()
  })

  it("takes up to half of each delay off at random", async () => {
    const t = setUp({ open: () => Promise.reject(new Error("offline")), random: () => 1 })
    t.stream.start()
    await flush()
    const s = t.state()
    expect(s?.kind === "reconnecting" && s.retryAt - Date.now()).toBe(500)
    expect(s?.kind === "reconnecting" && s.reason).toBe("offline")
    t.stream.stop()
  })

  it("reconnects when the server ends the stream, and calls onReady again", async () => {
    const t = setUp()
    t.stream.start()
    await flush()
    t.last().send("event: ready\ndata: {}\n\n")
    await flush()
    t.last().end()
    await flush()
    expect(t.state()?.kind).toBe("reconnecting")
    await vi.advanceTimersByTimeAsync(1_000)
    expect(t.connections).toHaveLength(2)
    t.last().send("event: ready\ndata: {}\n\n")
    await flush()
    expect(t.state()).toEqual({ kind: "live" })
    expect(t.onReady).toHaveBeenCalledTimes(2)
    t.stream.stop()
  })

  it("starts the back-off over after a connection that lasted", async () => {
    const t = setUp()
    t.stream.start()
    await flush()
    t.last().end()
    await flush()
    await vi.advanceTimersByTimeAsync(1_000)
    t.last().end()
    await flush()
    // Two failures in a row: the next try waits 2 s.
    let s = t.state()
    expect(s?.kind === "reconnecting" && s.retryAt - Date.now()).toBe(2_000)
    await vi.advanceTimersByTimeAsync(2_000)
    t.last().send("event: ready\ndata: {}\n\n")
    await vi.advanceTimersByTimeAsync(12_000)
    t.last().end()
    await flush()
    s = t.state()
    expect(s?.kind === "reconnecting" && s.retryAt - Date.now()).toBe(1_000)
    t.stream.stop()
  })

  it("takes a connection silent for 45 s for dead", async () => {
    const t = setUp()
    t.stream.start()
    await flush()
    t.last().send("event: ready\ndata: {}\n\n")
    await vi.advanceTimersByTimeAsync(30_000)
    t.last().send(": keep-alive\n\n")
    await vi.advanceTimersByTimeAsync(30_000)
    expect(t.state()).toEqual({ kind: "live" })
    await vi.advanceTimersByTimeAsync(15_000)
    const s = t.state()
    expect(s?.kind === "reconnecting" && s.reason).toBe("The server went silent")
    t.stream.stop()
  })

  it("stops for good when the sign-in is gone", async () => {
    const open = vi.fn(() => Promise.reject(new AuthLostError()))
    const t = setUp({ open })
    t.stream.start()
    await flush()
    expect(t.state()).toEqual({ kind: "off" })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(open).toHaveBeenCalledTimes(1)
  })

  it("tries at once when asked, instead of waiting", async () => {
    const open = vi.fn(() => Promise.resolve(new Response("", { status: 429 })))
    const t = setUp({ open })
    t.stream.start()
    await flush()
    const s = t.state()
    expect(s?.kind === "reconnecting" && s.reason).toBe("Too many tabs are following changes")
    t.stream.reconnectNow()
    await flush()
    expect(open).toHaveBeenCalledTimes(2)
    t.stream.stop()
  })
})
