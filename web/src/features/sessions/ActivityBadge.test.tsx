import { render, screen } from "@testing-library/react"
import { describe, expect, it } from "vitest"

import { ActivityBadge } from "@/features/sessions/ActivityBadge"

describe("ActivityBadge", () => {
  it("says the state in words, with the detail in its tooltip and read after the label", () => {
    render(<ActivityBadge activity={{ state: "permission", since: "2026-01-01T10:00:00Z", detail: "approve Bash" }} />)
    const badge = screen.getByTestId("activity-badge")
    expect(badge).toHaveAttribute("data-state", "permission")
    expect(badge).toHaveTextContent("Needs approval: approve Bash")
    expect(badge.getAttribute("title")).toMatch(/^Asks you to approve an action: approve Bash\nSince /)
  })

  it("has a word for every state, and for one it does not know", () => {
    const words = ["permission", "waiting", "working", "idle", "exited", "unknown", "dreaming"].map((state) => {
      const { unmount } = render(<ActivityBadge activity={{ state, since: "2026-01-01T10:00:00Z" }} />)
      const text = screen.getByTestId("activity-badge").textContent
      unmount()
      return text
    })
    expect(words).toEqual(["Needs approval", "Waiting", "Working", "Idle", "Exited", "Unknown", "Unknown"])
  })
})
