// One connection to `GET /api/events`, kept open: read with fetch (EventSource cannot send
// the Authorization header), parsed, and opened again after any end with a back-off of 1 s
// doubling to 30 s, jittered, so that the tabs of a restarted server do not all come back in
// the same instant.

import { AuthLostError } from "@/lib/api/errors"
import { decodeEvent, type LiveEvent } from "@/lib/events/events"
import { EventStreamParser } from "@/lib/events/parser"
import { backoffDelay } from "@/lib/terminal/backoff"

/** `live` once the server said `ready`; `off` when stopped or signed out. */
export type LiveState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "reconnecting"; retryAt: number; reason: string }
  | { kind: "off" }

export interface EventStreamOptions {
  /** Opens the stream; may throw AuthLostError (then no more tries). */
  open: (signal: AbortSignal) => Promise<Response>
  /** Every event but `ready`, in order. */
  onEvent: (event: LiveEvent) => void
  /** The server said `ready`: what happened while the stream was down is to be read again. */
  onReady: () => void
  onState: (state: LiveState) => void
  baseMs?: number
  maxMs?: number
  jitter?: number
  random?: () => number
  /** Without a byte for this long (the server sends a comment every 15 s) the connection is
   * taken for dead and opened again. */
  silenceMs?: number
  /** A connection that stayed live this long starts the back-off over. */
  stableMs?: number
  now?: () => number
}

export const STREAM_BASE_MS = 1_000
export const STREAM_MAX_MS = 30_000
export const STREAM_SILENCE_MS = 45_000
export const STREAM_STABLE_MS = 10_000

export class EventStream {
  private readonly options: EventStreamOptions
  private controller: AbortController | null = null
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private silenceTimer: ReturnType<typeof setTimeout> | null = null
  private attempt = 0
  private liveSince: number | null = null
  private running = false
  private state: LiveState = { kind: "off" }

  constructor(options: EventStreamOptions) {
    this.options = options
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.connect()
  }

  stop(): void {
    this.running = false
    this.clearTimers()
    this.controller?.abort()
    this.controller = null
    this.setState({ kind: "off" })
  }

  /** Skips the wait of a pending retry (e.g. the browser came back online). */
  reconnectNow(): void {
    if (!this.running || this.state.kind !== "reconnecting") return
    this.clearTimers()
    this.connect()
  }

  private now(): number {
    return (this.options.now ?? Date.now)()
  }

  private setState(state: LiveState): void {
    this.state = state
    this.options.onState(state)
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    if (this.silenceTimer !== null) clearTimeout(this.silenceTimer)
    this.retryTimer = null
    this.silenceTimer = null
  }

  private connect(): void {
    if (this.state.kind !== "reconnecting") this.setState({ kind: "connecting" })
    const controller = new AbortController()
    this.controller = controller
    void this.read(controller).then(
      () => {
        this.ended(controller, "The server closed the stream")
      },
      (error: unknown) => {
        if (error instanceof AuthLostError) {
          this.stop()
          return
        }
        const reason = controller.signal.aborted
          ? "The server went silent"
          : error instanceof Error
            ? error.message
            : "The stream failed"
        this.ended(controller, reason)
      },
    )
  }

  private async read(controller: AbortController): Promise<void> {
    const response = await this.options.open(controller.signal)
    if (!response.ok || !response.body) {
      await response.body?.cancel()
      throw new Error(
        response.status === 429 ? "Too many tabs are following changes" : `The server answered ${response.status}`,
      )
    }
    const reader = response.body.getReader()
    const decoder = new TextDecoder()
    const parser = new EventStreamParser()
    this.heard(controller)
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done || !this.isCurrent(controller)) return
        this.heard(controller)
        for (const raw of parser.push(decoder.decode(value, { stream: true }))) {
          // A handler may have stopped the stream.
          if (!this.isCurrent(controller)) return
          const event = decodeEvent(raw)
          if (!event) continue
          if (event.type === "ready") this.ready()
          else this.options.onEvent(event)
        }
      }
    } finally {
      reader.cancel().catch(() => undefined)
    }
  }

  private isCurrent(controller: AbortController): boolean {
    return this.running && this.controller === controller && !controller.signal.aborted
  }

  /** Something arrived: the connection is alive for another `silenceMs`. */
  private heard(controller: AbortController): void {
    if (this.silenceTimer !== null) clearTimeout(this.silenceTimer)
    this.silenceTimer = setTimeout(() => {
      controller.abort()
    }, this.options.silenceMs ?? STREAM_SILENCE_MS)
  }

  private ready(): void {
    this.liveSince = this.now()
    this.setState({ kind: "live" })
    this.options.onReady()
  }

  private ended(controller: AbortController, reason: string): void {
    // A stopped stream is over quietly.
    if (!this.running || this.controller !== controller) return
    this.clearTimers()
    if (this.liveSince !== null && this.now() - this.liveSince >= (this.options.stableMs ?? STREAM_STABLE_MS)) {
      this.attempt = 0
    }
    this.liveSince = null
    const delay = backoffDelay(this.attempt, {
      baseMs: this.options.baseMs ?? STREAM_BASE_MS,
      maxMs: this.options.maxMs ?? STREAM_MAX_MS,
      jitter: this.options.jitter ?? 0.5,
      random: this.options.random,
    })
    this.attempt += 1
    this.setState({ kind: "reconnecting", retryAt: this.now() + delay, reason })
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.connect()
    }, delay)
  }
}
