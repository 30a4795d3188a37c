import { LoaderCircle } from "lucide-react"

import { cn } from "@/lib/utils"

const ENVIRONMENT: Record<string, { label: string; className: string; busy?: boolean; hint: string }> = {
  creating: {
    label: "Creating",
    className: "border-info/30 bg-info/10 text-info",
    busy: true,
    hint: "Cloning the repository and preparing the default branch's workspace",
  },
  running: {
    label: "Running",
    className: "border-success/30 bg-success/10 text-success",
    hint: "Its containers are up; sessions can be opened",
  },
  stopped: {
    label: "Stopped",
    className: "border-border bg-muted text-muted-foreground",
    hint: "Its containers are stopped; files and branches are kept",
  },
  error: {
    label: "Error",
    className: "border-destructive/30 bg-destructive/10 text-destructive",
    hint: "Something failed; see the message",
  },
  deleting: {
    label: "Deleting",
    className: "border-warning/30 bg-warning/10 text-warning",
    busy: true,
    hint: "Removing its containers, worktrees and clone",
  },
}

const SESSION: Record<string, { label: string; dot: string; hint: string }> = {
  active: { label: "Active", dot: "bg-success", hint: "Its tmux session is running" },
  inactive: {
    label: "Inactive",
    dot: "bg-muted-foreground/60",
    hint: "The environment was stopped; it starts again when opened",
  },
  dead: { label: "Ended", dot: "bg-destructive", hint: "Its shell has ended; restart it to use it again" },
}

export function EnvironmentStatusBadge({
  status,
  className,
  ...props
}: { status: string; className?: string } & React.ComponentProps<"span">) {
  const look = ENVIRONMENT[status] ?? {
    label: status,
    className: "border-border bg-muted text-muted-foreground",
    hint: status,
  }
  return (
    <span
      data-status={status}
      title={look.hint}
      className={cn(
        "inline-flex h-6 shrink-0 items-center gap-1.5 rounded-full border px-2.5 text-xs font-medium whitespace-nowrap",
        look.className,
        className,
      )}
      {...props}
    >
      {look.busy ? (
        <LoaderCircle className="size-3 animate-spin motion-reduce:animate-none" aria-hidden />
      ) : (
        <span className="size-1.5 rounded-full bg-current" aria-hidden />
      )}
      {look.label}
    </span>
  )
}

export function SessionStatusBadge({
  status,
  className,
  ...props
}: { status: string; className?: string } & React.ComponentProps<"span">) {
  const look = SESSION[status] ?? { label: status, dot: "bg-muted-foreground", hint: status }
  return (
    <span
      data-status={status}
      title={look.hint}
      className={cn("inline-flex items-center gap-1.5 text-xs font-medium text-muted-foreground", className)}
      {...props}
    >
      <span className={cn("size-2 rounded-full", look.dot)} aria-hidden />
      {look.label}
    </span>
  )
}
