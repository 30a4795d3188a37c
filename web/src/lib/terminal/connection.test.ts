import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"

import { ApiError } from "@/lib/api/errors"
import {
  NOT_FOUND_MESSAGE,
  TerminalConnection,
  connectionLabel,
  type ConnectionState,
  type Diagnosis,
  type TerminalConnectionOptions,
} from "@/lib/terminal/connection"
import { BINARY_PROTOCOL } from "@/lib/terminal/protocol"

class FakeSocket {
  static all: FakeSocket[] = []
  readyState = 0
  binaryType = "blob"
  protocol = ""
  sent: (string | Uint8Array)[] = []
  closedWith: { code?: number; reason?: string } | null = null
  onopen: (() => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number; reason: string }) => void) | null = null
  onerror: (() => void) | null = null

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.all.push(this)
  }
  send(data: string | Uint8Array) {
    this.sent.push(data)
  }
  close(code?: number, reason?: string) {
    this.closedWith = { code, reason }
    this.readyState = 3
  }
  // The server's side:
  open(protocol = BINARY_PROTOCOL) {
    this.protocol = protocol
    this.readyState = 1
    this.onopen?.()
  }
  receive(data: unknown) {
    this.onmessage?.({ data })
  }
  serverClose(code: number, reason = "") {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }
  fail() {
    this.serverClose(1006)
  }
}

function setup(overrides: Partial<TerminalConnectionOptions> = {}) {
  const states: ConnectionState[] = []
  const data: Uint8Array[] = []
  let tickets = 0
  const diagnose = vi.fn((): Promise<Diagnosis> => Promise.resolve({ kind: "retry" }))
  const connection = new TerminalConnection({
    getTicket: () => Promise.resolve(`ticket-${++tickets}`),
    diagnose,
    url: (ticket, size) => `ws://test/api/terminal/ws/s1?token=${ticket}&cols=${size.cols}&rows=${size.rows}`,
    size: () => ({ cols: 80, rows: 24 }),
    onData: (bytes) => data.push(bytes),
    onState: (s) => states.push(s),
    createSocket: (url, protocols) => new FakeSocket(url, protocols) as unknown as WebSocket,
    backoff: { jitter: 0 },
    ...overrides,
  })
  const socket = (i = -1) => {
    const s = FakeSocket.all.at(i)
    if (!s) throw new Error("no socket yet")
    return s
  }
  return { connection, states, data, socket, diagnose, last: () => states.at(-1) }
}

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(1_000_000)
  FakeSocket.all = []
})

afterEach(() => {
  vi.useRealTimers()
})

describe("TerminalConnection", () => {
  it("opens the socket with a fresh ticket, the binary subprotocol and the size", async () => {
    const t = setup()
    t.connection.connect()
    expect(t.last()).toEqual({ kind: "connecting", attempt: 0 })
    await vi.advanceTimersByTimeAsync(0)
    expect(t.socket().url).toBe("ws://test/api/terminal/ws/s1?token=ticket-1&cols=80&rows=24")
    expect(t.socket().protocols).toEqual([BINARY_PROTOCOL])
    expect(t.socket().binaryType).toBe("arraybuffer")
    t.socket().open()
    expect(t.last()).toEqual({ kind: "connected" })
  })

  it("sends input as binary frames and resizes as JSON", async () => {
    const t = setup()
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.connection.send("x")).toBe(false)
    t.socket().open()
    expect(t.connection.send("ls\r")).toBe(true)
    t.connection.resize(100, 30)
    t.connection.resize(100, 30)
    const [input, resize, ...rest] = t.socket().sent
    expect(ArrayBuffer.isView(input)).toBe(true)
    expect(Array.from(input as Uint8Array)).toEqual([0x6c, 0x73, 0x0d])
    expect(JSON.parse(resize as string)).toEqual({ type: "resize", cols: 100, rows: 30 })
    expect(rest).toEqual([])
  })

  it("writes binary frames to the terminal", async () => {
    const t = setup()
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    t.socket().open()
    t.socket().receive(new Uint8Array([104, 105]).buffer)
    expect(Array.from(t.data[0] ?? [])).toEqual([104, 105])
  })

  it("pings every 25 seconds", async () => {
    const t = setup()
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    t.socket().open()
    await vi.advanceTimersByTimeAsync(25_000)
    expect(t.socket().sent).toEqual(['{"type":"ping"}'])
    t.socket().receive('{"type":"pong"}')
    await vi.advanceTimersByTimeAsync(25_000)
    expect(t.socket().sent).toHaveLength(2)
  })

  it("gives up on a socket that stopped answering and reconnects", async () => {
    const t = setup()
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    const first = t.socket()
    first.open()
    await vi.advanceTimersByTimeAsync(75_000)
    expect(first.closedWith?.code).toBe(4000)
    expect(t.last()?.kind).toBe("reconnecting")
  })

  it("stops at exit: shows the session ended and does not reconnect", async () => {
    const t = setup()
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    t.socket().open()
    t.socket().receive('{"type":"exit","code":130}')
    t.socket().serverClose(1000, "the session has ended")
    expect(t.last()).toEqual({ kind: "ended", code: 130 })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })

  it("reconnects with backoff and a new ticket when the server restarts (1012)", async () => {
    const t = setup()
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    t.socket().open()
    t.socket().serverClose(1012, "the server is restarting")
    expect(t.last()).toMatchObject({ kind: "reconnecting", attempt: 1, retryAt: 1_000_500 })
    await vi.advanceTimersByTimeAsync(499)
    expect(FakeSocket.all).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeSocket.all).toHaveLength(2)
    expect(t.socket().url).toContain("token=ticket-2")
    t.socket().open()
    expect(t.last()).toEqual({ kind: "connected" })
  })

  it("backs off 0.5 s, 1 s, 2 s… while the server cannot be reached, then resets once connected", async () => {
    const t = setup()
    t.connection.connect()
    const delays: number[] = []
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(0)
      t.socket().fail()
      await vi.advanceTimersByTimeAsync(0)
      const state = t.last()
      if (state?.kind !== "reconnecting") throw new Error(`expected reconnecting, got ${state?.kind}`)
      delays.push(state.retryAt - Date.now())
      await vi.advanceTimersByTimeAsync(state.retryAt - Date.now())
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000])
    await vi.advanceTimersByTimeAsync(0)
    t.socket().open()
    t.socket().serverClose(1006)
    expect(t.last()).toMatchObject({ kind: "reconnecting", attempt: 1 })
  })

  it("shows an error and stops when the session does not exist", async () => {
    const t = setup({ diagnose: () => Promise.resolve({ kind: "not-found" }) })
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    t.socket().fail()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.last()).toEqual({ kind: "error", message: NOT_FOUND_MESSAGE, retryable: false })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })

  it("stops when the ticket says the session is gone", async () => {
    const t = setup({ getTicket: () => Promise.reject(new ApiError(404, "not_found", "session not found")) })
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.last()).toMatchObject({ kind: "error", retryable: false })
    expect(FakeSocket.all).toHaveLength(0)
  })

  it("waits for the user after a detach", async () => {
    const t = setup()
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    t.socket().open()
    t.socket().serverClose(1000, "detached")
    expect(t.last()).toEqual({ kind: "detached" })
    t.connection.reconnectNow()
    await vi.advanceTimersByTimeAsync(0)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it("closes the socket and stays quiet once disposed", async () => {
    const t = setup()
    t.connection.connect()
    await vi.advanceTimersByTimeAsync(0)
    const socket = t.socket()
    socket.open()
    t.connection.dispose()
    expect(socket.closedWith?.code).toBe(1000)
    expect(t.last()).toEqual({ kind: "closed" })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })

  it("labels each state for the indicator", () => {
    expect(connectionLabel({ kind: "reconnecting", attempt: 2, retryAt: 0, reason: "" }, 3)).toBe("Reconnecting in 3s")
    expect(connectionLabel({ kind: "connected" }, 0)).toBe("Connected")
    expect(connectionLabel({ kind: "ended", code: 0 }, 0)).toBe("Session ended")
  })
})
