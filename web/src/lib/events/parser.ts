// The `text/event-stream` format (HTML Living Standard, "Server-sent events"), read from
// chunks that may split a line, a character or a CR LF pair anywhere. EventSource cannot
// send the Authorization header, so the stream is read with fetch and parsed here.

export interface ServerSentEvent {
  /** The `event:` field; `message` when there was none. */
  event: string
  /** The `data:` lines, joined with line feeds. */
  data: string
}

export class EventStreamParser {
  private buffer = ""
  private name = ""
  private data: string[] = []
  /** The last chunk ended with a CR: a LF that starts the next one belongs to it. */
  private afterCr = false

  /** Takes the next piece of text and returns the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk
    if (this.afterCr && text.startsWith("\n")) text = text.slice(1)
    if (text !== "") this.afterCr = false
    this.buffer += text
    const events: ServerSentEvent[] = []
    let start = 0
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i]
      if (c !== "\n" && c !== "\r") continue
      const event = this.line(this.buffer.slice(start, i))
      if (event) events.push(event)
      if (c === "\r") {
        if (i === this.buffer.length - 1) this.afterCr = true
        else if (this.buffer[i + 1] === "\n") i++
      }
      start = i + 1
    }
    this.buffer = this.buffer.slice(start)
    return events
  }

  private line(line: string): ServerSentEvent | null {
    if (line === "") return this.dispatch()
    // A comment: the server's keep-alive.
    if (line.startsWith(":")) return null
    const colon = line.indexOf(":")
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? "" : line.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    if (field === "event") this.name = value
    else if (field === "data") this.data.push(value)
    // `id`, `retry` and unknown fields change nothing here: reconnection is the caller's.
    return null
  }

  private dispatch(): ServerSentEvent | null {
    const event = this.data.length === 0 ? null : { event: this.name || "message", data: this.data.join("\n") }
    this.name = ""
    this.data = []
    return event
  }
}
