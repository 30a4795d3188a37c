import { Play, Square, Trash2 } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { ConfirmDialog } from "@/components/ConfirmDialog"
import { Button } from "@/components/ui/button"
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip"
import { describeError } from "@/lib/api/errors"
import type { Environment } from "@/lib/api/types"
import { useDeleteEnvironment, useStartEnvironment, useStopEnvironment } from "@/features/environments/hooks"
import { pluralize } from "@/lib/format"

interface Props {
  environment: Environment
  /** Icon-only buttons (cards) or labelled ones (the environment's page). */
  compact?: boolean
  onDeleted?: () => void
}

/** Stop, start and delete, each asking first where it matters. */
export function EnvironmentActions({ environment: env, compact = false, onDeleted }: Props) {
  const [confirm, setConfirm] = useState<"stop" | "delete" | null>(null)
  const stop = useStopEnvironment()
  const start = useStartEnvironment()
  const remove = useDeleteEnvironment()
  const activeSessions = env.sessions.filter((s) => s.status === "active").length
  const branches = new Set([env.branch, ...env.workspaces.map((w) => w.branch), ...env.sessions.map((s) => s.gitBranch)])

  const startNow = () => {
    start.mutate(env.id, {
      onSuccess: () => toast.success(`${env.name} is running`),
      onError: (e) => toast.error(`Could not start ${env.name}`, { description: describeError(e) }),
    })
  }

  return (
    <div className="flex items-center gap-1.5">
      {env.status === "running" && (
        <ActionButton
          compact={compact}
          label="Stop"
          testId="stop-environment-button"
          icon={<Square aria-hidden />}
          onClick={() => {
            setConfirm("stop")
          }}
        />
      )}
      {env.status === "stopped" && (
        <ActionButton
          compact={compact}
          label={start.isPending ? "Starting…" : "Start"}
          testId="start-environment-button"
          icon={<Play aria-hidden />}
          disabled={start.isPending}
          onClick={startNow}
        />
      )}
      <ActionButton
        compact={compact}
        label="Delete"
        testId="delete-environment-button"
        destructive
        icon={<Trash2 aria-hidden />}
        disabled={env.status === "deleting" || remove.isPending}
        onClick={() => {
          setConfirm("delete")
        }}
      />

      <ConfirmDialog
        open={confirm === "stop"}
        onOpenChange={(open) => {
          if (!open) setConfirm(null)
        }}
        title={`Stop ${env.name}?`}
        description={
          <>
            <p>
              Its containers stop and {activeSessions > 0 ? pluralize(activeSessions, "running session") : "its sessions"}{" "}
              end their programs. Files, branches and uncommitted work stay; sessions start again in the same folder when you
              open them after starting the environment.
            </p>
          </>
        }
        confirmLabel="Stop environment"
        onConfirm={async () => {
          await stop.mutateAsync(env.id)
          toast.success(`${env.name} is stopped`)
        }}
      />
      <ConfirmDialog
        open={confirm === "delete"}
        onOpenChange={(open) => {
          if (!open) setConfirm(null)
        }}
        destructive
        title={`Delete ${env.name}?`}
        description={
          <>
            <p>
              This cannot be undone. Every container, {pluralize(env.sessions.length, "session")}, the worktrees of{" "}
              {pluralize(branches.size, "branch", "branches")} and the clone of the repository are removed, with any work
              that was not pushed.
            </p>
          </>
        }
        confirmLabel="Delete forever"
        onConfirm={async () => {
          await remove.mutateAsync(env.id)
          toast.success(`${env.name} was deleted`)
          onDeleted?.()
        }}
      />
    </div>
  )
}

function ActionButton({
  compact,
  label,
  icon,
  onClick,
  disabled,
  destructive,
  testId,
}: {
  compact: boolean
  label: string
  icon: React.ReactNode
  onClick: () => void
  disabled?: boolean
  destructive?: boolean
  testId: string
}) {
  if (!compact) {
    return (
      <Button
        variant="outline"
        size="sm"
        data-testid={testId}
        disabled={disabled}
        onClick={onClick}
        className={destructive ? "text-destructive hover:text-destructive" : undefined}
      >
        {icon}
        {label}
      </Button>
    )
  }
  return (
    <Tooltip>
      <TooltipTrigger asChild>
        <Button
          variant="ghost"
          size="icon-sm"
          aria-label={label}
          data-testid={testId}
          disabled={disabled}
          onClick={onClick}
          className={destructive ? "text-muted-foreground hover:text-destructive" : "text-muted-foreground"}
        >
          {icon}
        </Button>
      </TooltipTrigger>
      <TooltipContent>{label}</TooltipContent>
    </Tooltip>
  )
}
