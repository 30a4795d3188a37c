import { describe, expect, it } from "vitest"

import {
  BINARY_PROTOCOL,
  PING_MESSAGE,
  classifyClose,
  encodeBinaryInput,
  encodeInput,
  parseServerMessage,
  resizeMessage,
  terminalSocketUrl,
} from "@/lib/terminal/protocol"

describe("terminal protocol", () => {
  it("sends typed input as UTF-8 bytes", () => {
    expect(Array.from(encodeInput("ls\r"))).toEqual([0x6c, 0x73, 0x0d])
    expect(Array.from(encodeInput("é✓"))).toEqual([0xc3, 0xa9, 0xe2, 0x9c, 0x93])
    expect(Array.from(encodeInput("\x1b[A"))).toEqual([0x1b, 0x5b, 0x41])
  })

  it("sends xterm's binary strings byte for byte", () => {
    expect(Array.from(encodeBinaryInput("\x1b[M\xff\x80"))).toEqual([0x1b, 0x5b, 0x4d, 0xff, 0x80])
  })

  it("writes control messages as JSON", () => {
    expect(JSON.parse(resizeMessage(120, 40))).toEqual({ type: "resize", cols: 120, rows: 40 })
    expect(JSON.parse(resizeMessage(0, 10.7))).toEqual({ type: "resize", cols: 1, rows: 10 })
    expect(JSON.parse(PING_MESSAGE)).toEqual({ type: "ping" })
  })

  it("reads the server's control messages and ignores anything else", () => {
    expect(parseServerMessage('{"type":"exit","code":3}')).toEqual({ type: "exit", code: 3 })
    expect(parseServerMessage('{"type":"error","message":"no"}')).toEqual({ type: "error", message: "no" })
    expect(parseServerMessage('{"type":"pong"}')).toEqual({ type: "pong" })
    expect(parseServerMessage('{"type":"output","data":"hi"}')).toEqual({ type: "output", data: "hi" })
    expect(parseServerMessage('{"type":"output"}')).toBeNull()
    expect(parseServerMessage('{"type":"what"}')).toBeNull()
    expect(parseServerMessage("not json")).toBeNull()
    expect(parseServerMessage("42")).toBeNull()
  })

  it("builds the socket URL with the ticket and the size, never a token of its own", () => {
    const url = terminalSocketUrl({ protocol: "https:", host: "c.example:8443" }, "abc", "t/k+n=", 80, 24)
    expect(url).toBe("wss://c.example:8443/api/terminal/ws/abc?token=t%2Fk%2Bn%3D&cols=80&rows=24")
    expect(terminalSocketUrl({ protocol: "http:", host: "localhost:5173" }, "s", "t", 1, 2)).toMatch(/^ws:\/\/localhost:5173\//)
    expect(BINARY_PROTOCOL).toBe("craftastic.binary.v1")
  })

  it("tells an ended session from a connection to retry", () => {
    expect(classifyClose(1000, "the session has ended", false)).toBe("ended")
    expect(classifyClose(1006, "", true)).toBe("ended")
    expect(classifyClose(1000, "detached", false)).toBe("detached")
    expect(classifyClose(1012, "the server is restarting", false)).toBe("reconnect")
    expect(classifyClose(1006, "", false)).toBe("reconnect")
    expect(classifyClose(1011, "the terminal was lost", false)).toBe("reconnect")
  })
})
