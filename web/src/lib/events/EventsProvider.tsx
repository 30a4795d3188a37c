import { useQueryClient } from "@tanstack/react-query"
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react"

import { api } from "@/lib/api/client"
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

  useEffect(() => {
    if (!signedIn) return
    const current = new EventStream({
      open: (signal) => api.openStream("/api/events", signal),
      onEvent: (event) => {
        applyEvent(queryClient, event)
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

  const shown = signedIn ? state : OFF
  const value = useMemo<LiveContextValue>(
    () => ({ state: shown, reconnectNow: () => stream.current?.reconnectNow() }),
    [shown],
  )
  return <LiveContext value={value}>{children}</LiveContext>
}
