import { Link } from "react-router"

import { cn } from "@/lib/utils"

export function LogoMark({ className }: { className?: string }) {
  return (
    <svg viewBox="0 0 32 32" className={cn("size-7", className)} aria-hidden>
      <rect width="32" height="32" rx="7" className="fill-foreground" />
      <path
        d="M9 11l5 5-5 5"
        fill="none"
        className="stroke-background"
        strokeWidth="2.5"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
      <path d="M16 22h7" stroke="#a3e635" strokeWidth="2.5" strokeLinecap="round" />
    </svg>
  )
}

/** `compact`: the name only from 420 px up (and for screen readers always), to leave a
 * phone's header room for the navigation. */
export function Logo({ to = "/", compact = false }: { to?: string; compact?: boolean }) {
  return (
    <Link
      to={to}
      className="focus-visible:ring-ring/50 flex items-center gap-2 rounded-md font-semibold tracking-tight outline-none focus-visible:ring-[3px]"
    >
      <LogoMark />
      <span className={compact ? "sr-only min-[420px]:not-sr-only" : undefined}>Craftastic</span>
    </Link>
  )
}
