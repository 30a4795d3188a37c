import { useEffect, useState } from "react"

import { Button } from "@/components/ui/button"
import { connectionLabel, type ConnectionState } from "@/lib/terminal/connection"
import { cn } from "@/lib/utils"

/** Seconds left until `at`, ticking. */
function useCountdown(at: number | null): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (at === null) return
    const timer = setInterval(() => {
      setNow(Date.now())
    }, 250)
    return () => {
      clearInterval(timer)
    }
  }, [at])
  return at === null ? 0 : Math.max(0, Math.ceil((at - now) / 1000))
}

const DOT: Record<ConnectionState["kind"], string> = {
  connecting: "bg-warning animate-pulse",
  connected: "bg-success",
  reconnecting: "bg-warning animate-pulse",
  ended: "bg-muted-foreground",
  detached: "bg-muted-foreground",
  error: "bg-destructive",
  closed: "bg-muted-foreground",
}

export function StateDot({ state, className }: { state: ConnectionState; className?: string }) {
  return <span className={cn("size-2 shrink-0 rounded-full motion-reduce:animate-none", DOT[state.kind], className)} aria-hidden />
}

export function ConnectionIndicator({
  state,
  onRetryNow,
}: {
  state: ConnectionState
  onRetryNow?: () => void
}) {
  const secondsLeft = useCountdown(state.kind === "reconnecting" ? state.retryAt : null)
  const label = connectionLabel(state, secondsLeft)
  const detail = state.kind === "reconnecting" ? state.reason : state.kind === "error" ? state.message : undefined
  return (
    <div className="flex min-w-0 items-center gap-2">
      <div
        role="status"
        aria-live="polite"
        data-testid="connection-state"
        data-state={state.kind}
        title={detail}
        className="text-muted-foreground flex min-w-0 items-center gap-2 text-xs font-medium whitespace-nowrap"
      >
        <StateDot state={state} />
        <span className="sr-only truncate sm:not-sr-only">{label}</span>
      </div>
      {state.kind === "reconnecting" && onRetryNow && (
        <Button variant="ghost" size="sm" className="hidden h-7 px-2 text-xs sm:inline-flex" onClick={onRetryNow}>
          Retry now
        </Button>
      )}
    </div>
  )
}
