import { useEffect, useState } from "react"

import { FALLBACK_POLL_MS, useLive } from "@/lib/events/live"
import type { LiveState } from "@/lib/events/stream"
import { cn } from "@/lib/utils"

const LOOK: Record<LiveState["kind"], { label: string; dot: string }> = {
  live: { label: "Live", dot: "bg-success" },
  connecting: { label: "Connecting…", dot: "bg-warning animate-pulse" },
  reconnecting: { label: "Reconnecting…", dot: "bg-warning animate-pulse" },
  off: { label: "Not live", dot: "bg-muted-foreground" },
}

function useSecondsUntil(at: number | null): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (at === null) return
    const timer = setInterval(() => {
      setNow(Date.now())
    }, 1_000)
    return () => {
      clearInterval(timer)
    }
  }, [at])
  return at === null ? 0 : Math.max(0, Math.ceil((at - now) / 1000))
}

/** Whether changes are pushed to this tab (the event stream), in words. `quiet`: while they
 * are, the words are left to screen readers (`narrow`: on narrow screens only). */
export function LiveIndicator({ quiet = false, className }: { quiet?: boolean | "narrow"; className?: string }) {
  const { state, reconnectNow } = useLive()
  const seconds = useSecondsUntil(state.kind === "reconnecting" ? state.retryAt : null)
  const look = LOOK[state.kind]
  const title =
    state.kind === "live"
      ? "Changes are shown as they happen"
      : state.kind === "reconnecting"
        ? `${state.reason}. Trying again in ${seconds} s; meanwhile pages are read again every ${FALLBACK_POLL_MS / 1000} s.`
        : "Changes are not pushed to this page"
  return (
    <div className={cn("flex items-center gap-1", className)}>
      <div
        role="status"
        data-testid="live-state"
        data-state={state.kind}
        title={title}
        className={cn(
          "text-muted-foreground flex items-center gap-1.5 text-xs font-medium whitespace-nowrap",
          state.kind === "live" && quiet === true && "sr-only",
          state.kind === "live" && quiet === "narrow" && "max-sm:sr-only",
        )}
      >
        <span className={cn("size-2 rounded-full motion-reduce:animate-none", look.dot)} aria-hidden />
        {look.label}
      </div>
      {state.kind === "reconnecting" && (
        <button
          type="button"
          onClick={reconnectNow}
          className="text-muted-foreground hover:text-foreground focus-visible:ring-ring/50 hidden rounded px-1 text-xs underline-offset-2 outline-none hover:underline focus-visible:ring-[3px] sm:inline"
        >
          Retry now
        </button>
      )}
    </div>
  )
}
