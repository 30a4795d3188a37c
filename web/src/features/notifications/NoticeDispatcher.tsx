import { useEffect, useRef } from "react"
import { useLocation, useNavigate } from "react-router"
import { toast } from "sonner"

import type { Notice } from "@/lib/api/types"
import { useLive } from "@/lib/events/live"
import { dispatchNotice } from "@/features/notifications/dispatch"
import { notificationPermission } from "@/features/notifications/permission"

function toastNotice(notice: Notice, open: () => void): void {
  toast.info(notice.title, {
    id: `notice-${notice.sessionId}`,
    description: notice.detail ?? notice.text,
    duration: 15_000,
    action: { label: "Open", onClick: open },
  })
}

/** Tells the user each `notification` event of the stream; renders nothing. */
export function NoticeDispatcher() {
  const { subscribeNotices } = useLive()
  const navigate = useNavigate()
  const { pathname } = useLocation()
  const shown = useRef({ pathname, navigate })

  useEffect(() => {
    shown.current = { pathname, navigate }
  }, [pathname, navigate])

  useEffect(
    () =>
      subscribeNotices((notice) => {
        dispatchNotice(notice, {
          pathname: shown.current.pathname,
          visible: document.visibilityState === "visible",
          permission: notificationPermission(),
          open: (path) => {
            window.focus()
            void shown.current.navigate(path)
          },
          toast: toastNotice,
        })
      }),
    [subscribeNotices],
  )

  return null
}
