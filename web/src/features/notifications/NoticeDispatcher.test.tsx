import { act, fireEvent, render, screen } from "@testing-library/react"
import { MemoryRouter, Route, Routes, useParams } from "react-router"
import { Toaster } from "sonner"
import { describe, expect, it, vi } from "vitest"

import type { Notice } from "@/lib/api/types"
import { LiveContext, type LiveContextValue } from "@/lib/events/live"
import { NoticeDispatcher } from "@/features/notifications/NoticeDispatcher"
import { stubNotifications } from "@/test/notifications"

function notice(sessionId: string): Notice {
  return {
    sessionId,
    environmentId: "e1",
    state: "waiting",
    title: `${sessionId} waits for you`,
    text: `Craftastic: ${sessionId} in shop waits for you`,
  }
}

function Terminal() {
  const { sessionId } = useParams()
  return <p>terminal of {sessionId}</p>
}

/** The dispatcher at `path`; `send` plays a `notification` event of the stream. */
function renderAt(path: string) {
  const listeners = new Set<(n: Notice) => void>()
  const live: LiveContextValue = {
    state: { kind: "live" },
    reconnectNow: () => undefined,
    subscribeNotices: (listener) => {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
  const view = render(
    <LiveContext value={live}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/environments/:envId/terminal/:sessionId" element={<Terminal />} />
          <Route path="*" element={<p>another page</p>} />
        </Routes>
        <NoticeDispatcher />
      </MemoryRouter>
      <Toaster />
    </LiveContext>,
  )
  return {
    send: (n: Notice) => {
      act(() => {
        for (const listener of listeners) listener(n)
      })
    },
    listeners,
    unmount: view.unmount,
  }
}

describe("NoticeDispatcher", () => {
  it("shows each notice once, tagged with its session; a click focuses the window and opens the terminal", () => {
    const { shown } = stubNotifications("granted")
    const focus = vi.spyOn(window, "focus").mockImplementation(() => undefined)
    const { send } = renderAt("/attention")
    send(notice("s1"))
    expect(shown.map((n) => [n.title, n.options.tag])).toEqual([["s1 waits for you", "s1"]])
    act(() => {
      shown[0]!.click()
    })
    expect(focus).toHaveBeenCalled()
    expect(screen.getByText("terminal of s1")).toBeInTheDocument()
  })

  it("says nothing of the session whose terminal is on screen, and tells of the others", () => {
    const { shown } = stubNotifications("granted")
    const { send } = renderAt("/environments/e1/terminal/s1")
    send(notice("s1"))
    expect(shown).toHaveLength(0)
    send(notice("s2"))
    expect(shown.map((n) => n.options.tag)).toEqual(["s2"])
  })

  it("shows a toast whose button opens the terminal when the browser cannot notify", async () => {
    const { send } = renderAt("/attention")
    send(notice("s1"))
    expect(await screen.findByText("s1 waits for you")).toBeInTheDocument()
    expect(screen.getByText("Craftastic: s1 in shop waits for you")).toBeInTheDocument()
    // A click without the pointer events sonner's swipe handling wants (jsdom has no pointer capture).
    fireEvent.click(screen.getByRole("button", { name: "Open" }))
    expect(screen.getByText("terminal of s1")).toBeInTheDocument()
  })

  it("stops listening when it goes away", () => {
    stubNotifications("granted")
    const { listeners, unmount } = renderAt("/attention")
    expect(listeners.size).toBe(1)
    unmount()
    expect(listeners.size).toBe(0)
  })
})
