// Reading a session's recording (asciicast v2: a JSON header line, then one
// `[time, code, data]` event a line) and replaying it onto a terminal.

export type CastEvent =
  | { time: number; kind: "o"; data: string }
  | { time: number; kind: "r"; cols: number; rows: number }

export interface Cast {
  cols: number
  rows: number
  title: string
  /** When the recording starts, in milliseconds since the epoch. */
  startedAt: number
  events: CastEvent[]
  /** Seconds, with the idle gaps shortened. */
  duration: number
}

/** Gaps between events longer than this many seconds are shortened to it, as
 * asciinema's players do with `idle_time_limit`: a recording may span days. */
export const IDLE_LIMIT = 2

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

function side(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value > 0 && value <= 10_000 ? value : fallback
}

/** Parses a recording. Throws when the header is not asciicast v2; an event line that is
 * not valid is skipped (the server sends none, but a file may come from elsewhere). */
export function parseCast(text: string, idleLimit: number = IDLE_LIMIT): Cast {
  const lines = text.split("\n")
  let header: unknown
  try {
    header = JSON.parse(lines[0] ?? "")
  } catch {
    header = undefined
  }
  if (!isRecord(header) || header.version !== 2) throw new Error("This recording is not in asciicast v2 format.")
  const events: CastEvent[] = []
  let last = 0
  let shifted = 0
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue
    let event: unknown
    try {
      event = JSON.parse(line)
    } catch {
      continue
    }
    if (!Array.isArray(event) || event.length !== 3) continue
    const [at, code, data] = event as unknown[]
    if (typeof at !== "number" || !Number.isFinite(at) || typeof data !== "string") continue
    // Times never go back, and a long pause plays as `idleLimit`.
    const raw = Math.max(at, last)
    shifted += Math.min(raw - last, idleLimit)
    last = raw
    if (code === "o") {
      events.push({ time: shifted, kind: "o", data })
    } else if (code === "r") {
      const match = /^(\d{1,5})x(\d{1,5})$/.exec(data)
      if (!match) continue
      events.push({ time: shifted, kind: "r", cols: side(Number(match[1]), 80), rows: side(Number(match[2]), 24) })
    }
  }
  return {
    cols: side(header.width, 80),
    rows: side(header.height, 24),
    title: typeof header.title === "string" ? header.title : "",
    startedAt: typeof header.timestamp === "number" ? header.timestamp * 1000 : 0,
    events,
    duration: events.length > 0 ? (events[events.length - 1]?.time ?? 0) : 0,
  }
}

/** How many events happen at or before `time` (the index of the first one after it). */
export function eventsUntil(events: readonly CastEvent[], time: number): number {
  let low = 0
  let high = events.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if ((events[mid]?.time ?? 0) <= time) low = mid + 1
    else high = mid
  }
  return low
}

/** Where a replay writes. */
export interface ReplaySink {
  reset: () => void
  write: (data: string) => void
  resize: (cols: number, rows: number) => void
}

/** Plays events `from` (inclusive) to `to` (exclusive) onto the sink, output between two
 * resizes in one write. */
export function play(events: readonly CastEvent[], from: number, to: number, sink: ReplaySink): void {
  let pending = ""
  for (let i = from; i < to; i++) {
    const event = events[i]
    if (!event) break
    if (event.kind === "o") {
      pending += event.data
    } else {
      if (pending) sink.write(pending)
      pending = ""
      sink.resize(event.cols, event.rows)
    }
  }
  if (pending) sink.write(pending)
}

/** `m:ss`, or `h:mm:ss` from an hour. */
export function formatClock(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds))
  const s = String(total % 60).padStart(2, "0")
  const m = Math.floor(total / 60) % 60
  const h = Math.floor(total / 3600)
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`
}
