import { describe, expect, it, vi } from "vitest"

import type { Notice } from "@/lib/api/types"
import { dispatchNotice, sessionShown, terminalPath, type NoticeContext } from "@/features/notifications/dispatch"
import { stubNotifications } from "@/test/notifications"

const NOTICE: Notice = {
  sessionId: "s1",
  environmentId: "e1",
  state: "permission",
  title: "api asks to approve an action",
  text: "Craftastic: api in shop asks to approve an action: Claude needs your permission to use Bash",
  detail: "Claude needs your permission to use Bash",
}

function context(overrides: Partial<Pick<NoticeContext, "pathname" | "visible" | "permission">> = {}) {
  return {
    pathname: "/",
    visible: true,
    permission: "granted" as const,
    open: vi.fn<NoticeContext["open"]>(),
    toast: vi.fn<NoticeContext["toast"]>(),
    ...overrides,
  }
}

describe("sessionShown", () => {
  it("names the session of a terminal page, and nothing else", () => {
    expect(sessionShown("/environments/e1/terminal/s1")).toBe("s1")
    expect(sessionShown("/environments/e1/terminal/s1/")).toBe("s1")
    expect(sessionShown("/environments/e1/replay/s1")).toBeNull()
    expect(sessionShown("/environments/e1")).toBeNull()
    expect(sessionShown("/attention")).toBeNull()
  })

  it("reads back the path it is given", () => {
    expect(sessionShown(terminalPath(NOTICE))).toBe("s1")
    expect(terminalPath({ environmentId: "e 1", sessionId: "s/1" })).toBe("/environments/e%201/terminal/s%2F1")
  })
})

describe("dispatchNotice", () => {
  it("shows a browser notification tagged with the session, whose click opens its terminal", () => {
    const { shown, close } = stubNotifications("granted")
    const c = context({ pathname: "/attention" })
    expect(dispatchNotice(NOTICE, c)).toBe("shown")
    expect(shown).toHaveLength(1)
    expect(shown[0]!.title).toBe(NOTICE.title)
    expect(shown[0]!.options).toMatchObject({ body: NOTICE.text, tag: "s1" })
    expect(c.open).not.toHaveBeenCalled()

    const click = shown[0]!.click()
    expect(click.defaultPrevented).toBe(true)
    expect(close).toHaveBeenCalledTimes(1)
    expect(c.open).toHaveBeenCalledWith("/environments/e1/terminal/s1")
    expect(c.toast).not.toHaveBeenCalled()
  })

  it("skips the session whose terminal is on screen", () => {
    const { shown } = stubNotifications("granted")
    const c = context({ pathname: "/environments/e1/terminal/s1" })
    expect(dispatchNotice(NOTICE, c)).toBe("skipped")
    expect(shown).toHaveLength(0)
    expect(c.toast).not.toHaveBeenCalled()
  })

  it("tells of that session while its terminal is in a hidden tab, and of another session", () => {
    const { shown } = stubNotifications("granted")
    expect(dispatchNotice(NOTICE, context({ pathname: "/environments/e1/terminal/s1", visible: false }))).toBe("shown")
    expect(dispatchNotice(NOTICE, context({ pathname: "/environments/e1/terminal/s2" }))).toBe("shown")
    expect(shown.map((n) => n.options.tag)).toEqual(["s1", "s1"])
  })

  it("shows a toast instead when the browser does not allow notifications", () => {
    for (const permission of ["default", "denied", "unsupported"] as const) {
      const { shown } = stubNotifications(permission === "unsupported" ? "default" : permission)
      const c = context({ permission })
      expect(dispatchNotice(NOTICE, c)).toBe("toast")
      expect(shown).toHaveLength(0)
      expect(c.toast).toHaveBeenCalledTimes(1)
      const [notice, open] = c.toast.mock.calls[0]!
      expect(notice).toBe(NOTICE)
      open()
      expect(c.open).toHaveBeenCalledWith("/environments/e1/terminal/s1")
    }
  })

  it("falls back to a toast when the browser refuses to make one", () => {
    stubNotifications("granted", { throws: true })
    const c = context()
    expect(dispatchNotice(NOTICE, c)).toBe("toast")
    expect(c.toast).toHaveBeenCalledTimes(1)
  })
})
