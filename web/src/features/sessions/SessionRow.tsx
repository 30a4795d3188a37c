import { Film, FolderOpen, Pencil, RotateCcw, SquareTerminal, Trash2 } from "lucide-react"
import { useState } from "react"
import { Link } from "react-router"
import { toast } from "sonner"

import { ConfirmDialog } from "@/components/ConfirmDialog"
import { IconButton } from "@/components/IconButton"
import { SessionStatusBadge } from "@/components/StatusBadge"
import { Badge } from "@/components/ui/badge"
import { Button } from "@/components/ui/button"
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip"
import { describeError } from "@/lib/api/errors"
import type { Environment, Session, SessionDeleted } from "@/lib/api/types"
import { formatDateTime, timeAgo } from "@/lib/format"
import { AgentBadge } from "@/features/agents/AgentBadge"
import { ActivityBadge } from "@/features/sessions/ActivityBadge"
import { RenameSessionDialog } from "@/features/sessions/RenameSessionDialog"
import { useDeleteSession, useUpdateSession } from "@/features/sessions/hooks"

interface Props {
  environment: Environment
  session: Session
  /** The other sessions on the same branch: when none is left, deleting may remove the workspace. */
  lastOnBranch: boolean
  onWorkspaceKept: (session: Session, kept: SessionDeleted) => void
}

export function SessionRow({ environment, session, lastOnBranch, onWorkspaceKept }: Props) {
  const [dialog, setDialog] = useState<"rename" | "delete" | null>(null)
  const update = useUpdateSession()
  const remove = useDeleteSession()
  const terminalPath = `/environments/${environment.id}/terminal/${session.id}`
  const replayPath = `/environments/${environment.id}/replay/${session.id}`
  const dead = session.status === "dead"
  const removesWorkspace = lastOnBranch && session.gitBranch !== environment.branch

  const restart = () => {
    update.mutate(
      { id: session.id, input: { status: "active" } },
      {
        onSuccess: () => toast.success(`${session.name} started again`),
        onError: (e) => toast.error(`Could not restart ${session.name}`, { description: describeError(e) }),
      },
    )
  }

  return (
    <li
      data-testid="session-row"
      data-session-id={session.id}
      data-session-name={session.name}
      data-status={session.status}
      data-session-type={session.sessionType}
      className="flex flex-col gap-2 px-4 py-3 sm:flex-row sm:items-center sm:gap-4"
    >
      <div className="min-w-0 flex-1 space-y-1">
        <div className="flex flex-wrap items-center gap-x-2.5 gap-y-1">
          <Link
            to={terminalPath}
            className="focus-visible:ring-ring/50 truncate rounded-sm font-medium outline-none hover:underline focus-visible:ring-[3px]"
            data-testid="session-name"
          >
            {session.name}
          </Link>
          <SessionStatusBadge status={session.status} data-testid="session-status" />
          <ActivityBadge activity={session.activity} />
          {session.sessionType === "agent" && <AgentBadge agentId={session.agentId} />}
          {session.variablesOutdated && session.status === "active" && (
            <Tooltip>
              <TooltipTrigger asChild>
                <Badge variant="outline" tabIndex={0} data-testid="session-variables-outdated">
                  old variables
                </Badge>
              </TooltipTrigger>
              <TooltipContent>
                It started before the environment&apos;s variables changed; restarting it gives it the new ones.
              </TooltipContent>
            </Tooltip>
          )}
        </div>
        <div className="text-muted-foreground flex flex-wrap items-center gap-x-3 gap-y-0.5 text-xs">
          <span className="inline-flex min-w-0 items-center gap-1 font-mono" title="Working directory">
            <FolderOpen className="size-3 shrink-0" aria-hidden />
            <span className="truncate">{session.workingDirectory}</span>
          </span>
          <span title={formatDateTime(session.lastActivity ?? session.createdAt)}>
            {session.lastActivity ? `Last active ${timeAgo(session.lastActivity)}` : `Created ${timeAgo(session.createdAt)}`}
          </span>
        </div>
      </div>
      <div className="flex shrink-0 items-center gap-1">
        {dead && (
          <Button
            variant="outline"
            size="sm"
            data-testid="restart-session-button"
            disabled={update.isPending}
            onClick={restart}
          >
            <RotateCcw className={update.isPending ? "animate-spin" : undefined} aria-hidden />
            Restart
          </Button>
        )}
        <Button variant={dead ? "ghost" : "default"} size="sm" asChild>
          <Link to={terminalPath} data-testid="open-terminal-link">
            <SquareTerminal aria-hidden />
            Open
          </Link>
        </Button>
        <Tooltip>
          <TooltipTrigger asChild>
            <Button variant="ghost" size="icon-sm" className="text-muted-foreground" asChild>
              <Link to={replayPath} aria-label="Replay" data-testid="replay-session-link">
                <Film aria-hidden />
              </Link>
            </Button>
          </TooltipTrigger>
          <TooltipContent>Replay</TooltipContent>
        </Tooltip>
        <IconButton
          label="Rename"
          testId="rename-session-button"
          onClick={() => {
            setDialog("rename")
          }}
        >
          <Pencil aria-hidden />
        </IconButton>
        <IconButton
          label="Delete"
          testId="delete-session-button"
          destructive
          onClick={() => {
            setDialog("delete")
          }}
        >
          <Trash2 aria-hidden />
        </IconButton>
      </div>

      <RenameSessionDialog
        session={session}
        open={dialog === "rename"}
        onOpenChange={(open) => {
          setDialog(open ? "rename" : null)
        }}
      />
      <ConfirmDialog
        open={dialog === "delete"}
        onOpenChange={(open) => {
          setDialog(open ? "delete" : null)
        }}
        destructive
        title={`Delete session ${session.name}?`}
        description={
          <>
            <p>Its tmux session ends, with whatever runs in it. This cannot be undone.</p>
            {removesWorkspace ? (
              <p>
                It is the last session on <span className="text-foreground font-mono">{session.gitBranch}</span>, so the
                branch&apos;s workspace (container and worktree) goes too — unless it has uncommitted changes, which keep it.
                Committed work stays on the branch.
              </p>
            ) : (
              <p>
                Files in the worktree of <span className="text-foreground font-mono">{session.gitBranch}</span> stay.
              </p>
            )}
          </>
        }
        confirmLabel="Delete session"
        onConfirm={async () => {
          const kept = await remove.mutateAsync(session)
          if (kept) {
            onWorkspaceKept(session, kept)
          } else {
            toast.success(`Session ${session.name} deleted`)
          }
        }}
      />
    </li>
  )
}
