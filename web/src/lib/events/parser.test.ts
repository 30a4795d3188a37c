import { describe, expect, it } from "vitest"

import { decodeEvent } from "@/lib/events/events"
import { EventStreamParser, type ServerSentEvent } from "@/lib/events/parser"

const STREAM =
  "event: ready\ndata: {}\n\n" +
  ": keep-alive\n\n" +
  'event: session.activity\r\ndata: {"sessionId":"s1","environmentId":"e1",\r\ndata: "activity":{"state":"working","since":"2026-01-01T00:00:00Z","detail":"sleep"}}\r\n\r\n' +
  "event: resync\rdata: {}\r\r"

const EXPECTED: ServerSentEvent[] = [
  { event: "ready", data: "{}" },
  {
    event: "session.activity",
    data: '{"sessionId":"s1","environmentId":"e1",\n"activity":{"state":"working","since":"2026-01-01T00:00:00Z","detail":"sleep"}}',
  },
  { event: "resync", data: "{}" },
]

function parseInChunks(chunks: string[]): ServerSentEvent[] {
  const parser = new EventStreamParser()
  return chunks.flatMap((c) => parser.push(c))
}

describe("EventStreamParser", () => {
  it("reads events, skips comments and joins data lines with line feeds", () => {
    expect(parseInChunks([STREAM])).toEqual(EXPECTED)
  })

  it("gives the same events whichever place the stream is cut at", () => {
    for (let at = 0; at <= STREAM.length; at++) {
      expect(parseInChunks([STREAM.slice(0, at), STREAM.slice(at)]), `cut at ${at}`).toEqual(EXPECTED)
    }
    expect(parseInChunks(Array.from({ length: STREAM.length }, (_, i) => STREAM.charAt(i)))).toEqual(EXPECTED)
  })

  it("takes a CR LF split between two chunks for one line end", () => {
    expect(parseInChunks(["event: ready\r", "\ndata: {}\r", "\n\r", "\n"])).toEqual([{ event: "ready", data: "{}" }])
  })

  it("waits for the blank line before giving an event", () => {
    const parser = new EventStreamParser()
    expect(parser.push("event: ready\ndata: {}\n")).toEqual([])
    expect(parser.push("\n")).toEqual([{ event: "ready", data: "{}" }])
  })

  it("names an event without `event:` message, drops one without data, ignores other fields", () => {
    expect(
      parseInChunks(["data:x\n\n", "event: lonely\n\n", "id: 7\nretry: 10\nfoo: bar\nevent: a\ndata\n\n"]),
    ).toEqual([
      { event: "message", data: "x" },
      { event: "a", data: "" },
    ])
  })
})

describe("decodeEvent", () => {
  it("reads the server's events", () => {
    expect(decodeEvent(EXPECTED[1]!)).toEqual({
      type: "session.activity",
      sessionId: "s1",
      environmentId: "e1",
      activity: { state: "working", since: "2026-01-01T00:00:00Z", detail: "sleep" },
    })
    expect(
      decodeEvent({ event: "environment.status", data: '{"environmentId":"e1","status":"error","error":"boom"}' }),
    ).toEqual({ type: "environment.status", environmentId: "e1", status: "error", error: "boom" })
    expect(decodeEvent({ event: "ready", data: "{}" })).toEqual({ type: "ready" })
  })

  it("reads a notification, with or without its detail", () => {
    const notice = {
      sessionId: "s1",
      environmentId: "e1",
      state: "permission",
      title: "api asks to approve an action",
      text: "Craftastic: api in shop asks to approve an action: Bash",
      detail: "Bash",
    }
    expect(decodeEvent({ event: "notification", data: JSON.stringify(notice) })).toEqual({ type: "notification", notice })
    const { detail: _detail, ...without } = notice
    expect(decodeEvent({ event: "notification", data: JSON.stringify(without) })).toEqual({
      type: "notification",
      notice: without,
    })
    expect(decodeEvent({ event: "notification", data: JSON.stringify({ ...notice, title: 1 }) })).toBeNull()
    expect(decodeEvent({ event: "notification", data: JSON.stringify({ ...notice, detail: ["x"] }) })).toBeNull()
  })

  it("ignores unknown events and malformed data", () => {
    expect(decodeEvent({ event: "session.renamed", data: '{"sessionId":"s1"}' })).toBeNull()
    expect(decodeEvent({ event: "message", data: "{}" })).toBeNull()
    expect(decodeEvent({ event: "session.status", data: "not json" })).toBeNull()
    expect(decodeEvent({ event: "session.status", data: '{"sessionId":"s1","environmentId":"e1"}' })).toBeNull()
    expect(
      decodeEvent({ event: "session.activity", data: '{"sessionId":"s1","environmentId":"e1","activity":{"state":1}}' }),
    ).toBeNull()
  })
})
