import { render, screen } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it, vi } from "vitest"

import { LiveContext } from "@/lib/events/live"
import type { LiveState } from "@/lib/events/stream"
import { LiveIndicator } from "@/features/layout/LiveIndicator"

function renderWith(state: LiveState, reconnectNow = vi.fn(), quiet = false) {
  render(
    <LiveContext value={{ state, reconnectNow, subscribeNotices: () => () => undefined }}>
      <LiveIndicator quiet={quiet} />
    </LiveContext>,
  )
  return reconnectNow
}

describe("LiveIndicator", () => {
  it("says in words that changes are live", () => {
    renderWith({ kind: "live" })
    expect(screen.getByRole("status")).toHaveTextContent("Live")
    expect(screen.getByRole("status")).toHaveAttribute("data-state", "live")
  })

  it("says it is reconnecting, why, and offers to try now", async () => {
    const reconnectNow = renderWith({ kind: "reconnecting", retryAt: Date.now() + 4_000, reason: "The server went silent" })
    expect(screen.getByRole("status")).toHaveTextContent("Reconnecting…")
    expect(screen.getByRole("status").getAttribute("title")).toMatch(/^The server went silent\. Trying again in 4 s/)
    await userEvent.click(screen.getByRole("button", { name: "Retry now" }))
    expect(reconnectNow).toHaveBeenCalledOnce()
  })

  it("when quiet, leaves the words to screen readers while live", () => {
    renderWith({ kind: "live" }, vi.fn(), true)
    expect(screen.getByRole("status")).toHaveClass("sr-only")
  })
})
