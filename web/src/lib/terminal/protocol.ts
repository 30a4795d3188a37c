// The terminal WebSocket protocol `craftastic.binary.v1`: terminal bytes travel as binary
// frames both ways; control messages are JSON text frames.

export const BINARY_PROTOCOL = "craftastic.binary.v1"

/** Client → server control messages. */
export type ClientControl =
  | { type: "resize"; cols: number; rows: number }
  | { type: "ping" }

/** Server → client messages that arrive as text frames. `output` only without the binary
 * subprotocol (a server that did not agree to it). */
export type ServerMessage =
  | { type: "exit"; code: number }
  | { type: "error"; message: string }
  | { type: "pong" }
  | { type: "output"; data: string }

const encoder = new TextEncoder()

/** What the user typed (xterm's onData, a JS string) as the bytes of one binary frame. */
export function encodeInput(data: string): Uint8Array {
  return encoder.encode(data)
}

/** xterm's onBinary data (one char per byte, e.g. some mouse reports) as raw bytes. */
export function encodeBinaryInput(data: string): Uint8Array {
  const bytes = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff
  return bytes
}

/** Input as the JSON text message of the default protocol. */
export function inputMessage(data: string): string {
  return JSON.stringify({ type: "input", data })
}

export function controlMessage(message: ClientControl): string {
  return JSON.stringify(message)
}

export function resizeMessage(cols: number, rows: number): string {
  return controlMessage({ type: "resize", cols: Math.max(1, Math.floor(cols)), rows: Math.max(1, Math.floor(rows)) })
}

export const PING_MESSAGE = controlMessage({ type: "ping" })

/** Reads a text frame; null for anything that is not a known server message. */
export function parseServerMessage(text: string): ServerMessage | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof value !== "object" || value === null) return null
  const m = value as Record<string, unknown>
  switch (m.type) {
    case "exit":
      return { type: "exit", code: typeof m.code === "number" ? m.code : 0 }
    case "error":
      return { type: "error", message: typeof m.message === "string" ? m.message : "unknown terminal error" }
    case "pong":
      return { type: "pong" }
    case "output":
      return typeof m.data === "string" ? { type: "output", data: m.data } : null
    default:
      return null
  }
}

/** The socket's address: same host as the page, `ws:` or `wss:` to match. */
export function terminalSocketUrl(
  location: Pick<Location, "protocol" | "host">,
  sessionId: string,
  ticket: string,
  cols: number,
  rows: number,
): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:"
  const query = new URLSearchParams({ token: ticket, cols: String(cols), rows: String(rows) })
  return `${scheme}//${location.host}/api/terminal/ws/${encodeURIComponent(sessionId)}?${query.toString()}`
}

/** What a socket's close means for the viewer. */
export type CloseOutcome = "ended" | "detached" | "reconnect"

/**
 * - an `exit` message came first, or 1000 "the session has ended": the shell is gone;
 * - 1000 "detached": the user detached inside tmux — stay detached until asked;
 * - anything else (1012 server restarting, 1001 no answer to pings, 1006 the network,
 *   1011 the terminal was lost): try again.
 */
export function classifyClose(code: number, reason: string, exited: boolean): CloseOutcome {
  if (exited) return "ended"
  if (code === 1000 && /ended/i.test(reason)) return "ended"
  if (code === 1000 && /detached/i.test(reason)) return "detached"
  return "reconnect"
}
