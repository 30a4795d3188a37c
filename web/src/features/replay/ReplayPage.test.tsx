import { screen, waitFor } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it, vi } from "vitest"

import ReplayPage from "@/features/replay/ReplayPage"
import { json, mockFetch, renderApp, signIn } from "@/test/render"

// jsdom draws no terminal: a stand-in keeps what the replay writes on it.
const written = vi.hoisted(() => ({ text: "", calls: [] as string[] }))
vi.mock("@xterm/xterm", () => ({
  Terminal: class {
    options: Record<string, unknown> = {}
    unicode = { activeVersion: "" }
    loadAddon() {
      written.calls.push("loadAddon")
    }
    open() {
      written.calls.push("open")
    }
    reset() {
      written.text = ""
    }
    write(data: string) {
      written.text += data
    }
    resize(cols: number, rows: number) {
      written.calls.push(`resize ${cols}x${rows}`)
    }
    dispose() {
      written.calls.push("dispose")
    }
  },
}))

const RECORDING = [
  JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1_700_000_000, title: "main" }),
  '[0,"o","$ echo hi\\r\\n"]',
  '[1.5,"o","hi\\r\\n"]',
  '[3,"o","$ "]',
].join("\n")

function renderReplay() {
  return renderApp(<ReplayPage />, {
    path: "/environments/e1/replay/s1",
    route: "/environments/:envId/replay/:sessionId",
  })
}

describe("ReplayPage", () => {
  it("opens on the last screen and replays from the start at the chosen speed", async () => {
    signIn()
    const fetchMock = mockFetch((url) =>
      url === "/api/sessions/s1/recording"
        ? new Response(RECORDING, { status: 200, headers: { "Content-Type": "application/x-asciicast" } })
        : undefined,
    )
    renderReplay()
    expect(await screen.findByRole("heading", { name: "Replay of main" })).toBeInTheDocument()
    expect(screen.getByTestId("replay-clock")).toHaveTextContent("0:03 / 0:03")
    expect(written.text).toBe("$ echo hi\r\nhi\r\n$ ")
    expect(written.calls).toContain("resize 80x24")

    const user = userEvent.setup()
    await user.click(screen.getByRole("button", { name: "4×" }))
    expect(screen.getByRole("button", { name: "4×" })).toHaveAttribute("aria-pressed", "true")
    await user.click(screen.getByTestId("replay-play"))
    expect(written.text.startsWith("$ echo hi")).toBe(true)
    expect(screen.getByTestId("replay-play")).toHaveAccessibleName("Pause")
    await waitFor(() => {
      expect(screen.getByTestId("replay-play")).toHaveAccessibleName("Play")
    })
    expect(written.text).toBe("$ echo hi\r\nhi\r\n$ ")
    expect(screen.getByRole("link", { name: /open terminal/i })).toHaveAttribute("href", "/environments/e1/terminal/s1")
    expect(fetchMock.mock.calls.filter(([url]) => url === "/api/sessions/s1/recording")).toHaveLength(1)
  })

  it("shows the server's sentence when the workspace is stopped", async () => {
    signIn()
    mockFetch(() =>
      json(409, {
        error: "the workspace of main is not running, and a session's recording is kept in it; open the session (or start the environment) to read it",
        code: "not_running",
      }),
    )
    renderReplay()
    expect(await screen.findByRole("alert")).toHaveTextContent("The workspace of main is not running")
  })

  it("says when nothing was recorded yet", async () => {
    signIn()
    mockFetch(() => new Response(JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1 }), { status: 200 }))
    renderReplay()
    expect(await screen.findByTestId("replay-empty")).toHaveTextContent("Nothing recorded yet")
  })
})
