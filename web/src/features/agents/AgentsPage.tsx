import { Bot, KeyRound, Pencil, Plus, ShieldOff, Trash2 } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { ConfirmDialog } from "@/components/ConfirmDialog"
import { IconButton } from "@/components/IconButton"
import { EmptyState, ErrorState } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Card, CardContent } from "@/components/ui/card"
import { Skeleton } from "@/components/ui/skeleton"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"
import type { Agent } from "@/lib/api/types"
import { formatDateTime, timeAgo } from "@/lib/format"
import { cn } from "@/lib/utils"
import { AgentDialog, type AgentDialogMode } from "@/features/agents/AgentDialog"
import { AgentIcon } from "@/features/agents/AgentIcon"
import { agentKind, agentLabel } from "@/features/agents/agentTypes"
import { credentialSummary } from "@/features/agents/credential"
import { useAgents, useDeleteAgent, useSaveAgent } from "@/features/agents/hooks"

export function AgentsPage() {
  useDocumentTitle("Agents")
  const agents = useAgents()
  const [dialog, setDialog] = useState<AgentDialogMode | null>(null)
  // The last mode stays while the dialog animates closed.
  const [lastMode, setLastMode] = useState<AgentDialogMode>({ kind: "create" })

  const openDialog = (mode: AgentDialogMode) => {
    setLastMode(mode)
    setDialog(mode)
  }

  const createButton = (
    <Button
      data-testid="create-agent-button"
      onClick={() => {
        openDialog({ kind: "create" })
      }}
    >
      <Plus aria-hidden />
      New agent
    </Button>
  )

  return (
    <div className="mx-auto max-w-3xl space-y-6" data-testid="agents-page">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div className="space-y-1">
          <h1 className="text-2xl font-semibold tracking-tight">Agents</h1>
          <p className="text-muted-foreground text-sm">
            Coding-agent CLIs that agent sessions start in a branch&apos;s workspace, each with its own credential.
          </p>
        </div>
        {(agents.data?.length ?? 0) > 0 && createButton}
      </div>

      {agents.isPending ? (
        <Card className="gap-0 py-0" aria-busy="true" aria-label="Loading agents">
          {[0, 1, 2].map((i) => (
            <div key={i} className="flex items-center gap-4 border-b px-4 py-4 last:border-b-0">
              <Skeleton className="size-9 rounded-lg" />
              <div className="flex-1 space-y-2">
                <Skeleton className="h-4 w-32" />
                <Skeleton className="h-3 w-48" />
              </div>
            </div>
          ))}
        </Card>
      ) : agents.isError ? (
        <ErrorState error={agents.error} title="Could not load your agents" onRetry={() => void agents.refetch()} />
      ) : agents.data.length === 0 ? (
        <EmptyState icon={<Bot />} title="No agents yet" data-testid="agents-empty" action={createButton}>
          Add Claude Code, Gemini CLI, Qwen Code or Cursor CLI with its API key or login, then start agent sessions
          with it from an environment.
        </EmptyState>
      ) : (
        <Card className="gap-0 py-0">
          <CardContent className="px-0">
            <ul className="divide-y" data-testid="agent-list">
              {agents.data.map((agent) => (
                <AgentRow key={agent.id} agent={agent} onOpen={openDialog} />
              ))}
            </ul>
          </CardContent>
        </Card>
      )}

      <AgentDialog
        mode={dialog ?? lastMode}
        open={dialog !== null}
        onOpenChange={(open) => {
          if (!open) setDialog(null)
        }}
      />
    </div>
  )
}

function AgentRow({ agent, onOpen }: { agent: Agent; onOpen: (mode: AgentDialogMode) => void }) {
  const [confirm, setConfirm] = useState<"delete" | "remove-credential" | null>(null)
  const remove = useDeleteAgent()
  const save = useSaveAgent()
  const kind = agentKind(agent.type)

  return (
    <li
      data-testid="agent-row"
      data-agent-id={agent.id}
      data-name={agent.name}
      data-type={agent.type}
      data-credential={agent.hasCredential ? (agent.credentialType ?? "set") : "none"}
      className="flex flex-col gap-3 px-4 py-4 sm:flex-row sm:items-center sm:gap-4"
    >
      <div className="flex min-w-0 flex-1 items-center gap-3">
        <span className="bg-muted text-foreground/80 flex size-9 shrink-0 items-center justify-center rounded-lg">
          <AgentIcon type={agent.type} className="size-5" />
        </span>
        <div className="min-w-0 space-y-1">
          <p className="truncate font-medium" data-testid="agent-name">
            {agent.name}
          </p>
          <p className="text-muted-foreground flex flex-wrap items-center gap-x-2 gap-y-1 text-xs">
            <span data-testid="agent-type">{agentLabel(agent.type)}</span>
            {kind && (
              <>
                <span aria-hidden>·</span>
                <code className="font-mono">{kind.command}</code>
              </>
            )}
            <span aria-hidden>·</span>
            <span title={formatDateTime(agent.updatedAt)}>Changed {timeAgo(agent.updatedAt)}</span>
          </p>
        </div>
      </div>
      <div className="flex shrink-0 flex-wrap items-center gap-2">
        <span
          data-testid="agent-credential-status"
          data-state={agent.hasCredential ? "set" : "not-set"}
          title={agent.hasCredential ? "Stored encrypted; it is never shown again" : "Sessions start without a login"}
          className={cn(
            "inline-flex h-6 items-center gap-1.5 rounded-full border px-2.5 text-xs font-medium whitespace-nowrap",
            agent.hasCredential
              ? "border-success/30 bg-success/10 text-success"
              : "border-border bg-muted text-muted-foreground",
          )}
        >
          <KeyRound className="size-3" aria-hidden />
          <span className="sr-only">Credential: </span>
          {credentialSummary(agent)}
        </span>
        <div className="flex items-center gap-1">
          <IconButton
            label={agent.hasCredential ? "Replace the credential" : "Set a credential"}
            testId="set-credential-button"
            onClick={() => {
              onOpen({ kind: "credential", agent })
            }}
          >
            <KeyRound aria-hidden />
          </IconButton>
          {agent.hasCredential && (
            <IconButton
              label="Remove the credential"
              testId="remove-credential-button"
              destructive
              onClick={() => {
                setConfirm("remove-credential")
              }}
            >
              <ShieldOff aria-hidden />
            </IconButton>
          )}
          <IconButton
            label="Rename"
            testId="rename-agent-button"
            onClick={() => {
              onOpen({ kind: "rename", agent })
            }}
          >
            <Pencil aria-hidden />
          </IconButton>
          <IconButton
            label="Delete"
            testId="delete-agent-button"
            destructive
            onClick={() => {
              setConfirm("delete")
            }}
          >
            <Trash2 aria-hidden />
          </IconButton>
        </div>
      </div>

      <ConfirmDialog
        open={confirm === "remove-credential"}
        onOpenChange={(open) => {
          setConfirm(open ? "remove-credential" : null)
        }}
        destructive
        title={`Remove the credential of ${agent.name}?`}
        description={
          <p>
            Craftastic forgets it. New sessions of this agent start {kind?.command ?? "the CLI"} without a login;
            sessions already running keep theirs.
          </p>
        }
        confirmLabel="Remove credential"
        onConfirm={async () => {
          await save.update(agent.id, { credential: null })
          toast.success(`Credential of ${agent.name} removed`)
        }}
      />
      <ConfirmDialog
        open={confirm === "delete"}
        onOpenChange={(open) => {
          setConfirm(open ? "delete" : null)
        }}
        destructive
        title={`Delete agent ${agent.name}?`}
        description={
          <>
            <p>The agent and its credential are deleted. This cannot be undone.</p>
            <p>Its sessions stay; started again, they open a shell instead of {agentLabel(agent.type)}.</p>
          </>
        }
        confirmLabel="Delete agent"
        onConfirm={async () => {
          await remove.mutateAsync(agent)
          toast.success(`Agent ${agent.name} deleted`)
        }}
      />
    </li>
  )
}
