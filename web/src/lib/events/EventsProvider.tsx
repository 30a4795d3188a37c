import { useQueryClient } from "@tanstack/react-query"
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react"

import { api } from "@/lib/api/client"
import type { Notice } from "@/lib/api/types"
import { useAuth } from "@/lib/auth/auth"
import { applyEvent, refetchEverything } from "@/lib/events/cache"
import { LiveContext, type LiveContextValue } from "@/lib/events/live"
import { EventStream, type LiveState } from "@/lib/events/stream"

const OFF: LiveState = { kind: "off" }

/** One event stream per signed-in tab, written into the query cache as events arrive. */
export function EventsProvider({ children }: { children: ReactNode }) {
  const { signedIn } = useAuth()
  const queryClient = useQueryClient()
  const [state, setState] = useState<LiveState>({ kind: "connecting" })
  const stream = useRef<EventStream | null>(null)
  const noticeListeners = useRef(new Set<(notice: Notice) => void>())

  useEffect(() => {
    if (!signedIn) return
    const current = new EventStream({
      open: (signal) => api.openStream("/api/events", signal),
      onEvent: (event) => {
        applyEvent(queryClient, event)
        if (event.type === "notification") {
          for (const listener of noticeListeners.current) listener(event.notice)
        }
      },
      onReady: () => {
        refetchEverything(queryClient)
      },
      onState: setState,
    })
    stream.current = current
    current.start()
    const online = () => {
      current.reconnectNow()
    }
    window.addEventListener("online", online)
    return () => {
      window.removeEventListener("online", online)
      current.stop()
      stream.current = null
    }
  }, [signedIn, queryClient])

  const subscribeNotices = useCallback((listener: (notice: Notice) => void) => {
    const listeners = noticeListeners.current
    listeners.add(listener)
    return () => {
      listeners.delete(listener)
    }
  }, [])

  const shown = signedIn ? state : OFF
  const value = useMemo<LiveContextValue>(
    () => ({ state: shown, reconnectNow: () => stream.current?.reconnectNow(), subscribeNotices }),
    [shown, subscribeNotices],
  )
  return <LiveContext value={value}>{children}</LiveContext>
}
