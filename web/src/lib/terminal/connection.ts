// One viewer's connection to a session's terminal, independent of xterm: a fresh ticket
// for every socket, the binary protocol, keepalive pings, and reconnection with backoff.

import { ApiError, AuthLostError, describeError } from "@/lib/api/errors"
import { backoffDelay, type BackoffOptions } from "@/lib/terminal/backoff"
import {
  BINARY_PROTOCOL,
  PING_MESSAGE,
  classifyClose,
  encodeInput,
  inputMessage,
  parseServerMessage,
  resizeMessage,
} from "@/lib/terminal/protocol"

export interface TerminalSize {
  cols: number
  rows: number
}

export type ConnectionState =
  | { kind: "connecting"; attempt: number }
  | { kind: "connected" }
  | { kind: "reconnecting"; attempt: number; retryAt: number; reason: string }
  | { kind: "ended"; code: number | null }
  | { kind: "detached" }
  | { kind: "error"; message: string; retryable: boolean; action?: DiagnosisAction }
  | { kind: "closed" }

/** Something the viewer can do about a refused connection. */
export type DiagnosisAction = "start-environment"

/** Why a socket could not be opened, once the handshake failed (browsers do not tell). */
export type Diagnosis =
  | { kind: "not-found" }
  | { kind: "stop"; message: string; action?: DiagnosisAction }
  | { kind: "retry"; message?: string }

export interface TerminalConnectionOptions {
  getTicket: () => Promise<string>
  diagnose: () => Promise<Diagnosis>
  url: (ticket: string, size: TerminalSize) => string
  size: () => TerminalSize
  onData: (bytes: Uint8Array) => void
  onState: (state: ConnectionState) => void
  /** `error` messages from the server (the socket stays open). */
  onServerError?: (message: string) => void
  createSocket?: (url: string, protocols: string[]) => WebSocket
  pingIntervalMs?: number
  backoff?: BackoffOptions
  now?: () => number
}

export const PING_INTERVAL_MS = 25_000
// WebSocket.readyState values (named here so that tests can use a fake socket class).
const CONNECTING = 0
const OPEN = 1
export const NOT_FOUND_MESSAGE = "This session no longer exists: it was deleted, or it belongs to another account."

export class TerminalConnection {
  private readonly options: TerminalConnectionOptions
  private readonly pingIntervalMs: number
  private readonly now: () => number
  private socket: WebSocket | null = null
  private generation = 0
  private attempt = 0
  private opened = false
  private exitCode: number | null = null
  private exited = false
  private binary = true
  private lastHeard = 0
  private lastSize: TerminalSize | null = null
  private lastServerError: string | null = null
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private disposed = false
  private current: ConnectionState = { kind: "connecting", attempt: 0 }

  constructor(options: TerminalConnectionOptions) {
    this.options = options
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS
    this.now = options.now ?? Date.now
  }

  get state(): ConnectionState {
    return this.current
  }

  /** Opens the socket (again). */
  connect(): void {
    if (this.disposed) return
    this.clearRetry()
    this.abandonSocket()
    const generation = ++this.generation
    this.opened = false
    this.exited = false
    this.exitCode = null
    this.lastServerError = null
    this.setState({ kind: "connecting", attempt: this.attempt })
    void this.open(generation)
  }

  /** Gives up waiting and tries at once, from the start of the backoff schedule. */
  reconnectNow(): void {
    this.attempt = 0
    this.connect()
  }

  /** Typed input; false when there is no open socket to take it. */
  send(data: string): boolean {
    const socket = this.openSocket()
    if (!socket) return false
    socket.send(this.binary ? encodeInput(data) : inputMessage(data))
    return true
  }

  /** Raw input bytes (xterm's onBinary). */
  sendBytes(bytes: Uint8Array): boolean {
    const socket = this.openSocket()
    if (!socket) return false
    socket.send(this.binary ? bytes : inputMessage(String.fromCharCode(...bytes)))
    return true
  }

  resize(cols: number, rows: number): void {
    if (cols < 1 || rows < 1) return
    const same = this.lastSize?.cols === cols && this.lastSize.rows === rows
    this.lastSize = { cols, rows }
    const socket = this.openSocket()
    if (socket && !same) socket.send(resizeMessage(cols, rows))
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.clearRetry()
    this.abandonSocket(1000, "closed by the viewer")
    this.setState({ kind: "closed" })
  }

  // ---- internals ---------------------------------------------------------------------

  private async open(generation: number): Promise<void> {
    let ticket: string
    try {
      ticket = await this.options.getTicket()
    } catch (error) {
      if (generation !== this.generation || this.disposed) return
      if (error instanceof AuthLostError) {
        this.setState({ kind: "error", message: error.message, retryable: false })
      } else if (error instanceof ApiError && error.status === 404) {
        this.setState({ kind: "error", message: NOT_FOUND_MESSAGE, retryable: false })
      } else {
        this.scheduleReconnect(describeError(error))
      }
      return
    }
    if (generation !== this.generation || this.disposed) return

    const size = this.lastSize ?? this.options.size()
    this.lastSize = size
    const url = this.options.url(ticket, size)
    let socket: WebSocket
    try {
      socket = this.options.createSocket
        ? this.options.createSocket(url, [BINARY_PROTOCOL])
        : new WebSocket(url, [BINARY_PROTOCOL])
    } catch (error) {
      this.setState({ kind: "error", message: describeError(error), retryable: true })
      return
    }
    socket.binaryType = "arraybuffer"
    this.socket = socket

    socket.onopen = () => {
      if (generation !== this.generation) return
      this.opened = true
      this.attempt = 0
      this.binary = socket.protocol === BINARY_PROTOCOL
      this.lastHeard = this.now()
      this.setState({ kind: "connected" })
      // The size may have changed while the ticket was fetched.
      const latest = this.lastSize ?? size
      if (latest.cols !== size.cols || latest.rows !== size.rows) socket.send(resizeMessage(latest.cols, latest.rows))
      this.startPing(generation)
    }
    socket.onmessage = (event: MessageEvent) => {
      if (generation !== this.generation) return
      this.lastHeard = this.now()
      const data: unknown = event.data
      if (data instanceof ArrayBuffer) {
        this.options.onData(new Uint8Array(data))
        return
      }
      if (typeof data !== "string") return
      const message = parseServerMessage(data)
      if (!message) return
      switch (message.type) {
        case "exit":
          this.exited = true
          this.exitCode = message.code
          break
        case "error":
          this.lastServerError = message.message
          this.options.onServerError?.(message.message)
          break
        case "output":
          this.options.onData(encodeInput(message.data))
          break
        case "pong":
          break
      }
    }
    socket.onclose = (event: CloseEvent) => {
      if (generation !== this.generation) return
      this.stopPing()
      this.socket = null
      if (this.disposed) return
      void this.closed(generation, event.code, event.reason)
    }
  }

  private async closed(generation: number, code: number, reason: string): Promise<void> {
    const outcome = classifyClose(code, reason, this.exited)
    if (outcome === "ended") {
      this.setState({ kind: "ended", code: this.exitCode })
      return
    }
    if (outcome === "detached") {
      this.setState({ kind: "detached" })
      return
    }
    if (this.opened) {
      this.scheduleReconnect(reasonFor(code, reason, this.lastServerError))
      return
    }
    // The handshake failed: find out whether trying again can help.
    let diagnosis: Diagnosis
    try {
      diagnosis = await this.options.diagnose()
    } catch (error) {
      diagnosis = { kind: "retry", message: describeError(error) }
    }
    if (generation !== this.generation || this.disposed) return
    switch (diagnosis.kind) {
      case "not-found":
        this.setState({ kind: "error", message: NOT_FOUND_MESSAGE, retryable: false })
        break
      case "stop":
        this.setState({ kind: "error", message: diagnosis.message, retryable: true, action: diagnosis.action })
        break
      case "retry":
        this.scheduleReconnect(diagnosis.message ?? "The server refused the connection.")
        break
    }
  }

  private scheduleReconnect(reason: string): void {
    this.clearRetry()
    const delay = backoffDelay(this.attempt, this.options.backoff)
    this.attempt++
    this.setState({ kind: "reconnecting", attempt: this.attempt, retryAt: this.now() + delay, reason })
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.connect()
    }, delay)
  }

  private startPing(generation: number): void {
    this.stopPing()
    this.pingTimer = setInterval(() => {
      const socket = this.openSocket()
      if (generation !== this.generation || !socket) return
      // Nothing heard for two intervals: the connection is dead without having closed.
      if (this.now() - this.lastHeard > 2 * this.pingIntervalMs + 5_000) {
        this.abandonSocket(4000, "no answer")
        this.scheduleReconnect("The connection stopped answering.")
        return
      }
      socket.send(PING_MESSAGE)
    }, this.pingIntervalMs)
  }

  private stopPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer)
    this.pingTimer = null
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  /** Closes the current socket and ignores anything it still says. */
  private abandonSocket(code = 1000, reason = ""): void {
    this.stopPing()
    const socket = this.socket
    this.socket = null
    this.generation++
    if (!socket) return
    socket.onopen = null
    socket.onmessage = null
    socket.onclose = null
    socket.onerror = null
    try {
      if (socket.readyState === CONNECTING || socket.readyState === OPEN) socket.close(code, reason)
    } catch {
      // Already closing.
    }
  }

  private openSocket(): WebSocket | null {
    const socket = this.socket
    return socket?.readyState === OPEN ? socket : null
  }

  private setState(state: ConnectionState): void {
    this.current = state
    this.options.onState(state)
  }
}

/** The words of the state indicator. */
export function connectionLabel(state: ConnectionState, secondsLeft: number): string {
  switch (state.kind) {
    case "connecting":
      return state.attempt > 0 ? "Reconnecting…" : "Connecting…"
    case "connected":
      return "Connected"
    case "reconnecting":
      return secondsLeft > 0 ? `Reconnecting in ${secondsLeft}s` : "Reconnecting…"
    case "ended":
      return "Session ended"
    case "detached":
      return "Detached"
    case "error":
      return "Error"
    case "closed":
      return "Closed"
  }
}

function reasonFor(code: number, reason: string, serverError: string | null): string {
  if (code === 1012) return "The server is restarting."
  if (serverError) return serverError
  if (reason) return reason.charAt(0).toUpperCase() + reason.slice(1) + "."
  return "The connection was lost."
}
