import { Bell, BellRing } from "lucide-react"
import { NavLink } from "react-router"

import { cn } from "@/lib/utils"
import { useEnvironments } from "@/features/environments/hooks"
import { needsYouCount } from "@/features/sessions/activity"

/** The sessions that need the user (asking to approve something, or waiting for input),
 * counted in the top bar of every page; a link to the attention view. */
export function AttentionCount({ className }: { className?: string }) {
  const environments = useEnvironments()
  const count = needsYouCount(environments.data)
  const words = count === 0 ? "No session needs you" : `${count} ${count === 1 ? "session needs" : "sessions need"} you`
  const Icon = count > 0 ? BellRing : Bell
  return (
    <NavLink
      to="/attention"
      title={words}
      data-testid="attention-count"
      data-count={count}
      className={({ isActive }) =>
        cn(
          "focus-visible:ring-ring/50 inline-flex h-8 items-center gap-1.5 rounded-md border px-2 text-xs font-semibold tabular-nums outline-none focus-visible:ring-[3px]",
          count > 0
            ? "border-warning/50 bg-warning/15 text-warning hover:bg-warning/25"
            : "text-muted-foreground hover:text-foreground border-transparent",
          isActive && count === 0 && "bg-accent",
          className,
        )
      }
    >
      <Icon className="size-4" aria-hidden />
      <span aria-hidden>{count}</span>
      <span className="sr-only">{words}</span>
    </NavLink>
  )
}
