import { GitBranch, Info, Plus, SquareTerminal, X } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { EmptyState } from "@/components/States"
import { Badge } from "@/components/ui/badge"
import { Button } from "@/components/ui/button"
import { Card, CardAction, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip"
import { sentence } from "@/lib/api/errors"
import type { Environment, Session, SessionDeleted } from "@/lib/api/types"
import { pluralize } from "@/lib/format"
import { CreateSessionDialog } from "@/features/sessions/CreateSessionDialog"
import { SessionRow } from "@/features/sessions/SessionRow"
import { branchesOf } from "@/features/sessions/branches"
import { WorkspaceDisk } from "@/features/environments/WorkspaceDisk"

interface KeptNotice {
  id: string
  branch: string
  session: string
  reason: string
}

export function SessionsPanel({
  environment: env,
  onOpenSession,
}: {
  environment: Environment
  onOpenSession: (session: Session) => void
}) {
  const [creating, setCreating] = useState(false)
  const [createBranch, setCreateBranch] = useState<string | undefined>(undefined)
  const [kept, setKept] = useState<KeptNotice[]>([])
  const running = env.status === "running"
  // Branches with sessions, and those whose workspace was kept after their last session went.
  const groups = branchesOf(env).filter((g) => g.sessions.length > 0 || (g.workspace && !g.isDefault))

  const openCreate = (branch?: string) => {
    setCreateBranch(branch)
    setCreating(true)
  }

  const onWorkspaceKept = (session: Session, answer: SessionDeleted) => {
    toast.info(`Session ${session.name} deleted; the workspace of ${session.gitBranch} was kept`, {
      description: sentence(answer.reason),
      duration: 10_000,
    })
    setKept((list) => [
      { id: session.id, branch: session.gitBranch, session: session.name, reason: answer.reason },
      ...list.filter((k) => k.branch !== session.gitBranch),
    ])
  }

  const newSessionButton = (
    <Button data-testid="create-session-button" disabled={!running} onClick={() => openCreate()}>
      <Plus aria-hidden />
      New session
    </Button>
  )

  return (
    <Card className="gap-0 py-0">
      <CardHeader className="border-b px-4 py-4 sm:px-5 [.border-b]:pb-4">
        <CardTitle className="text-base">Sessions</CardTitle>
        <CardDescription>
          {env.sessions.length === 0
            ? "Terminals in the workspace of a branch."
            : `${pluralize(env.sessions.length, "session")} on ${pluralize(groups.length, "branch", "branches")}`}
        </CardDescription>
        <CardAction>
          {running ? (
            newSessionButton
          ) : (
            <Tooltip>
              <TooltipTrigger asChild>
                {/* A disabled button takes no pointer events; the wrapper shows why. */}
                <span tabIndex={0} className="inline-flex rounded-md">
                  {newSessionButton}
                </span>
              </TooltipTrigger>
              <TooltipContent>
                {env.status === "stopped" ? "Start the environment first" : `The environment is ${env.status}`}
              </TooltipContent>
            </Tooltip>
          )}
        </CardAction>
      </CardHeader>
      <CardContent className="px-0">
        {kept.length > 0 && (
          <ul className="space-y-2 border-b p-4" aria-label="Workspaces kept">
            {kept.map((k) => (
              <li
                key={k.id}
                role="status"
                data-testid="workspace-kept-notice"
                className="border-info/30 bg-info/5 flex items-start gap-3 rounded-lg border px-3 py-2.5 text-sm"
              >
                <Info className="text-info mt-0.5 size-4 shrink-0" aria-hidden />
                <div className="flex-1 space-y-0.5">
                  <p className="font-medium">
                    The workspace of <span className="font-mono">{k.branch}</span> was kept
                  </p>
                  <p className="text-muted-foreground">{sentence(k.reason)}</p>
                </div>
                <Button
                  variant="ghost"
                  size="icon-sm"
                  aria-label="Dismiss"
                  onClick={() => {
                    setKept((list) => list.filter((x) => x.id !== k.id))
                  }}
                >
                  <X aria-hidden />
                </Button>
              </li>
            ))}
          </ul>
        )}
        {groups.length === 0 ? (
          <div className="p-4 sm:p-5">
            <EmptyState
              icon={<SquareTerminal />}
              title="No sessions yet"
              data-testid="sessions-empty"
            >
              {running
                ? `Use New session to start one on ${env.branch} or on any other branch; it opens as a terminal in your browser.`
                : env.status === "creating"
                  ? "Sessions can be started as soon as the environment is running."
                  : "Start the environment to create sessions."}
            </EmptyState>
          </div>
        ) : (
          <div className="divide-y">
            {groups.map((group) => (
              <section key={group.name} aria-label={`Branch ${group.name}`} data-testid="branch-group" data-branch={group.name}>
                <div className="bg-muted/40 flex flex-wrap items-center gap-2 px-4 py-2 sm:px-5">
                  <GitBranch className="text-muted-foreground size-4" aria-hidden />
                  <h3 className="font-mono text-sm font-medium">{group.name}</h3>
                  {group.isDefault && <Badge variant="outline">default</Badge>}
                  {group.workspace && group.workspace.status !== "running" && (
                    <Badge variant="outline" title={group.workspace.error ?? undefined}>
                      workspace {group.workspace.status}
                    </Badge>
                  )}
                  <WorkspaceDisk workspace={group.workspace} />
                  <Button
                    variant="ghost"
                    size="sm"
                    className="text-muted-foreground ml-auto h-7"
                    disabled={!running}
                    onClick={() => {
                      openCreate(group.name)
                    }}
                  >
                    <Plus aria-hidden />
                    <span>
                      Session<span className="sr-only"> on {group.name}</span>
                    </span>
                  </Button>
                </div>
                {group.sessions.length === 0 && (
                  <p className="text-muted-foreground px-4 py-3 text-sm sm:px-5" data-testid="branch-without-sessions">
                    No sessions. Its workspace was kept (it has uncommitted changes); start a session here to commit or
                    discard them.
                  </p>
                )}
                <ul className="divide-y">
                  {group.sessions.map((s) => (
                    <SessionRow
                      key={s.id}
                      environment={env}
                      session={s}
                      lastOnBranch={group.sessions.length === 1}
                      onWorkspaceKept={onWorkspaceKept}
                    />
                  ))}
                </ul>
              </section>
            ))}
          </div>
        )}
      </CardContent>
      <CreateSessionDialog
        environment={env}
        open={creating}
        onOpenChange={setCreating}
        initialBranch={createBranch}
        onCreated={(session) => {
          toast.success(`Session ${session.name} started`, {
            action: {
              label: "Open terminal",
              onClick: () => {
                onOpenSession(session)
              },
            },
          })
        }}
      />
    </Card>
  )
}
