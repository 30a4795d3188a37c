// What a `notification` event becomes in this tab: a notification of the browser when it
// allows them, else a toast in the page; nothing when the user is looking at that very
// session's terminal already.

import type { Notice } from "@/lib/api/types"
import type { BrowserPermission } from "@/features/notifications/permission"

/** The page of the session's terminal. */
export function terminalPath(notice: Pick<Notice, "environmentId" | "sessionId">): string {
  return `/environments/${encodeURIComponent(notice.environmentId)}/terminal/${encodeURIComponent(notice.sessionId)}`
}

/** The session whose terminal `pathname` shows, if it shows one. */
export function sessionShown(pathname: string): string | null {
  const id = /^\/environments\/[^/]+\/terminal\/([^/]+)\/?$/.exec(pathname)?.[1]
  return id === undefined ? null : decodeURIComponent(id)
}

export interface NoticeContext {
  /** The page shown now. */
  pathname: string
  /** Whether the page is on screen (`document.visibilityState`). */
  visible: boolean
  permission: BrowserPermission
  /** Brings this window to the front and shows `path`. */
  open: (path: string) => void
  /** Tells the notice inside the page; `open` goes to the session's terminal. */
  toast: (notice: Notice, open: () => void) => void
}

export type Dispatched = "skipped" | "shown" | "toast"

export function dispatchNotice(notice: Notice, context: NoticeContext): Dispatched {
  if (context.visible && sessionShown(context.pathname) === notice.sessionId) return "skipped"
  const open = () => {
    context.open(terminalPath(notice))
  }
  if (context.permission === "granted") {
    try {
      // The session's id as the tag: a newer notice of the session replaces the older one,
      // also when several tabs show it.
      const shown = new Notification(notice.title, { body: notice.text, tag: notice.sessionId, icon: "/favicon.svg" })
      shown.onclick = (event) => {
        event.preventDefault()
        shown.close()
        open()
      }
      return "shown"
    } catch {
      // Some browsers (Chrome on Android) let only a service worker show notifications.
    }
  }
  context.toast(notice, open)
  return "toast"
}
