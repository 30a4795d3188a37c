import { CircleCheck, CircleHelp, CircleStop, LoaderCircle, MessageCircleQuestion, ShieldAlert } from "lucide-react"

import type { SessionActivity } from "@/lib/api/types"
import { formatDateTime } from "@/lib/format"
import { cn } from "@/lib/utils"

interface Look {
  label: string
  hint: string
  className: string
  icon: typeof CircleCheck
  spin?: boolean
}

const LOOKS: Record<string, Look> = {
  permission: {
    label: "Needs approval",
    hint: "Asks you to approve an action",
    className: "border-destructive/40 bg-destructive/10 text-destructive",
    icon: ShieldAlert,
  },
  waiting: {
    label: "Waiting",
    hint: "Wants your input",
    className: "border-warning/40 bg-warning/10 text-warning",
    icon: MessageCircleQuestion,
  },
  working: {
    label: "Working",
    hint: "Running a command or taking its turn",
    className: "border-info/30 bg-info/10 text-info",
    icon: LoaderCircle,
    spin: true,
  },
  idle: {
    label: "Idle",
    hint: "Finished its turn, or at a prompt",
    className: "border-border bg-muted text-muted-foreground",
    icon: CircleCheck,
  },
  exited: {
    label: "Exited",
    hint: "Its CLI or shell ended",
    className: "border-border bg-muted text-muted-foreground",
    icon: CircleStop,
  },
}

const UNKNOWN: Look = {
  label: "Unknown",
  hint: "Its workspace is stopped, or nothing was learnt yet",
  className: "border-border bg-transparent text-muted-foreground",
  icon: CircleHelp,
}

function activityLook(state: string): Look {
  return LOOKS[state] ?? UNKNOWN
}

/** What a session is doing, in words (a colour and an icon only add to them); its detail is
 * in the tooltip and read out after the label. */
export function ActivityBadge({
  activity,
  className,
  ...props
}: { activity: SessionActivity; className?: string } & React.ComponentProps<"span">) {
  const look = activityLook(activity.state)
  const Icon = look.icon
  const detail = activity.detail ?? undefined
  const title = [look.hint + (detail ? `: ${detail}` : ""), `Since ${formatDateTime(activity.since)}`].join("\n")
  return (
    <span
      data-testid="activity-badge"
      data-state={activity.state}
      data-detail={detail}
      title={title}
      className={cn(
        "inline-flex h-5 shrink-0 items-center gap-1 rounded-full border px-2 text-xs font-medium whitespace-nowrap",
        look.className,
        className,
      )}
      {...props}
    >
      <Icon className={cn("size-3", look.spin && "animate-spin motion-reduce:animate-none")} aria-hidden />
      {look.label}
      {detail && <span className="sr-only">: {detail}</span>}
    </span>
  )
}
