import { createContext, useContext } from "react"

import type { Notice } from "@/lib/api/types"
import type { LiveState } from "@/lib/events/stream"

/** While the event stream is down, lists are read again this often. */
export const FALLBACK_POLL_MS = 60_000

export interface LiveContextValue {
  state: LiveState
  /** Tries again at once instead of waiting out the back-off. */
  reconnectNow: () => void
  /** Calls `listener` with each `notification` event until the returned function is called. */
  subscribeNotices: (listener: (notice: Notice) => void) => () => void
}

const OFF: LiveContextValue = {
  state: { kind: "off" },
  reconnectNow: () => undefined,
  subscribeNotices: () => () => undefined,
}

export const LiveContext = createContext<LiveContextValue>(OFF)

export function useLive(): LiveContextValue {
  return useContext(LiveContext)
}

/** Whether changes are pushed right now. */
export function useIsLive(): boolean {
  return useLive().state.kind === "live"
}

/** A `refetchInterval` for data the events keep fresh: none while they flow, a slow poll
 * while they do not. */
export function useFallbackPoll(): number | false {
  return useIsLive() ? false : FALLBACK_POLL_MS
}
