import { Bot, LoaderCircle, SquareTerminal } from "lucide-react"
import { useState } from "react"
import { Link } from "react-router"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { Input } from "@/components/ui/input"
import { Label } from "@/components/ui/label"
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group"
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select"
import { useAvailability } from "@/hooks/useAvailability"
import { ApiError, describeError, sentence } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import type { Environment, Session, SessionType } from "@/lib/api/types"
import { queryKeys } from "@/lib/queries"
import { AgentIcon } from "@/features/agents/AgentIcon"
import { agentLabel } from "@/features/agents/agentTypes"
import { useAgents } from "@/features/agents/hooks"
import { branchStatus } from "@/features/sessions/branches"
import { useCreateSession } from "@/features/sessions/hooks"

type FieldName = "name" | "branch" | "workingDirectory" | "agentId"

interface Props {
  environment: Environment
  open: boolean
  onOpenChange: (open: boolean) => void
  /** Branch to propose instead of the environment's. */
  initialBranch?: string
  onCreated?: (session: Session) => void
  /** Where focus goes when the dialog closes (by default back to what opened it). */
  onCloseAutoFocus?: (event: Event) => void
}

export function CreateSessionDialog({
  environment,
  open,
  onOpenChange,
  initialBranch,
  onCreated,
  onCloseAutoFocus,
}: Props) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent data-testid="create-session-dialog" onCloseAutoFocus={onCloseAutoFocus}>
        {open && (
          <CreateSessionForm
            environment={environment}
            initialBranch={initialBranch ?? environment.branch}
            onCancel={() => {
              onOpenChange(false)
            }}
            onCreated={(session) => {
              onOpenChange(false)
              onCreated?.(session)
            }}
          />
        )}
      </DialogContent>
    </Dialog>
  )
}

function CreateSessionForm({
  environment,
  initialBranch,
  onCancel,
  onCreated,
}: {
  environment: Environment
  initialBranch: string
  onCancel: () => void
  onCreated: (session: Session) => void
}) {
  const [name, setName] = useState("")
  const [branch, setBranch] = useState(initialBranch)
  const [workingDirectory, setWorkingDirectory] = useState("")
  const [sessionType, setSessionType] = useState<SessionType>("terminal")
  const [pickedAgent, setPickedAgent] = useState<string | null>(null)
  const [serverFields, setServerFields] = useState<Partial<Record<FieldName, string>>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const create = useCreateSession()
  const envId = environment.id
  const agents = useAgents({ enabled: sessionType === "agent" })
  // The first agent until another is picked; a picked one that was deleted meanwhile is dropped.
  const agentId =
    agents.data?.find((a) => a.id === pickedAgent)?.id ?? agents.data?.[0]?.id ?? null

  const nameCheck = useAvailability(name, queryKeys.checkSessionName(envId), (value, signal) =>
    apiCalls.checkSessionName(envId, value, signal),
  )
  const branchCheck = useAvailability(branch, queryKeys.checkBranch(envId), (value, signal) =>
    apiCalls.checkBranch(envId, value, signal),
  )

  const edit = (field: FieldName, set: (v: string) => void) => (e: React.ChangeEvent<HTMLInputElement>) => {
    set(e.target.value)
    if (serverFields[field]) setServerFields(({ [field]: _gone, ...rest }) => rest)
  }

  const nameStatus: FieldStatus = serverFields.name
    ? { kind: "error", text: serverFields.name }
    : nameCheck.checking
      ? { kind: "checking", text: "Checking the name…" }
      : nameCheck.result
        ? nameCheck.result.available
          ? { kind: "ok", text: "Available" }
          : { kind: "error", text: sentence(nameCheck.result.reason ?? "This name is not available") }
        : { kind: "none" }

  const branchFieldStatus: FieldStatus = serverFields.branch
    ? { kind: "error", text: serverFields.branch }
    : branch.trim() === ""
      ? { kind: "none" }
      : branchCheck.checking
        ? { kind: "checking", text: "Checking the branch…" }
        : branchCheck.result
          ? branchStatus(branchCheck.result, environment.branch)
          : { kind: "none" }

  const blocked =
    nameCheck.result?.available === false ||
    branchCheck.result?.valid === false ||
    (sessionType === "agent" && agentId === null)
  const canSubmit = !blocked && !create.isPending

  const submit = (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (!canSubmit) return
    setFormError(null)
    create.mutate(
      {
        environmentId: envId,
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(branch.trim() ? { branch: branch.trim() } : {}),
        ...(workingDirectory.trim() ? { workingDirectory: workingDirectory.trim() } : {}),
        ...(sessionType === "agent" && agentId ? { sessionType: "agent" as const, agentId } : {}),
      },
      {
        onSuccess: onCreated,
        onError: (error) => {
          const fields: Partial<Record<FieldName, string>> = {}
          if (error instanceof ApiError) {
            for (const key of ["name", "branch", "workingDirectory", "agentId"] as const) {
              const message = error.fields[key]
              if (message) fields[key] = message
            }
            if (error.status === 409 && error.code === "name_taken") fields.name = error.message
            // The agent was deleted since the list was read.
            if (error.status === 404 && sessionType === "agent" && /agent/i.test(error.message)) {
              fields.agentId = error.message
              void agents.refetch()
            }
          }
          setServerFields(fields)
          setFormError(Object.keys(fields).length > 0 ? null : describeError(error))
        },
      },
    )
  }

  return (
    <form onSubmit={submit} noValidate className="grid gap-5" data-testid="create-session-form">
      <DialogHeader>
        <DialogTitle>New session in {environment.name}</DialogTitle>
        <DialogDescription>
          A tmux session in the workspace of a branch. Sessions on the same branch share its container and worktree.
        </DialogDescription>
      </DialogHeader>
      <FormError message={formError} data-testid="create-session-error" />
      <fieldset className="grid gap-2">
        <legend className="mb-2 text-sm leading-none font-medium">Runs</legend>
        <RadioGroup
          value={sessionType}
          onValueChange={(value) => {
            setSessionType(value as SessionType)
            if (serverFields.agentId) setServerFields(({ agentId: _gone, ...rest }) => rest)
          }}
          className="grid grid-cols-2 gap-2"
          aria-label="Session type"
          data-testid="session-type"
        >
          <SessionTypeOption
            value="terminal"
            icon={<SquareTerminal />}
            title="Terminal"
            text="A shell in the workspace."
          />
          <SessionTypeOption value="agent" icon={<Bot />} title="Agent" text="A coding agent's CLI, logged in." />
        </RadioGroup>
      </fieldset>
      {sessionType === "agent" && (
        <AgentPicker
          agents={agents}
          agentId={agentId}
          error={serverFields.agentId}
          onPick={(id) => {
            setPickedAgent(id)
            if (serverFields.agentId) setServerFields(({ agentId: _gone, ...rest }) => rest)
          }}
        />
      )}
      <Field id="session-name" label="Name" optional hint="Made from the branch when left empty." status={nameStatus}>
        {(aria) => (
          <Input
            {...aria}
            data-testid="session-name-input"
            autoComplete="off"
            spellCheck={false}
            placeholder="e.g. api-server"
            value={name}
            onChange={edit("name", setName)}
          />
        )}
      </Field>
      <Field
        id="session-branch"
        label="Branch"
        hint={`Defaults to ${environment.branch}. A branch that does not exist is created from ${environment.branch}.`}
        status={branchFieldStatus}
      >
        {(aria) => (
          <Input
            {...aria}
            data-testid="session-branch-input"
            autoComplete="off"
            spellCheck={false}
            placeholder={environment.branch}
            value={branch}
            onChange={edit("branch", setBranch)}
          />
        )}
      </Field>
      <Field
        id="session-directory"
        label="Working directory"
        optional
        hint="A folder of the worktree: /workspace/src or just src. The worktree's root when left empty."
        status={
          serverFields.workingDirectory ? { kind: "error", text: serverFields.workingDirectory } : { kind: "none" }
        }
      >
        {(aria) => (
          <Input
            {...aria}
            data-testid="session-directory-input"
            autoComplete="off"
            spellCheck={false}
            placeholder="/workspace"
            value={workingDirectory}
            onChange={edit("workingDirectory", setWorkingDirectory)}
          />
        )}
      </Field>
      <DialogFooter>
        <Button variant="outline" onClick={onCancel} disabled={create.isPending}>
          Cancel
        </Button>
        <Button type="submit" data-testid="create-session-submit" disabled={!canSubmit}>
          {create.isPending && <LoaderCircle className="animate-spin" aria-hidden />}
          {create.isPending ? "Starting session…" : "Create session"}
        </Button>
      </DialogFooter>
    </form>
  )
}

function SessionTypeOption({
  value,
  icon,
  title,
  text,
}: {
  value: SessionType
  icon: React.ReactNode
  title: string
  text: string
}) {
  const id = `session-type-${value}`
  return (
    <Label
      htmlFor={id}
      className="has-[[data-state=checked]]:border-primary has-[[data-state=checked]]:bg-accent flex cursor-pointer items-start gap-3 rounded-lg border p-3 font-normal"
    >
      <RadioGroupItem id={id} value={value} data-testid={id} className="mt-0.5" />
      <span className="grid gap-1">
        <span className="flex items-center gap-1.5 font-medium">
          <span className="text-muted-foreground [&>svg]:size-4" aria-hidden>
            {icon}
          </span>
          {title}
        </span>
        <span className="text-muted-foreground text-xs leading-4">{text}</span>
      </span>
    </Label>
  )
}

function AgentPicker({
  agents,
  agentId,
  error,
  onPick,
}: {
  agents: ReturnType<typeof useAgents>
  agentId: string | null
  error: string | undefined
  onPick: (id: string) => void
}) {
  if (agents.isPending) {
    return (
      <p className="text-muted-foreground flex items-center gap-2 text-sm" role="status">
        <LoaderCircle className="size-4 animate-spin" aria-hidden />
        Loading your agents…
      </p>
    )
  }
  if (agents.isError) {
    return <FormError message={`Could not load your agents: ${describeError(agents.error)}`} />
  }
  if (agents.data.length === 0) {
    return (
      <p className="bg-muted/60 rounded-md border px-3 py-2 text-sm" data-testid="session-no-agents">
        You have no agents yet.{" "}
        <Link
          to="/agents"
          className="font-medium underline underline-offset-4"
          data-testid="session-agents-link"
        >
          Add one on the Agents page
        </Link>
        , then start an agent session.
      </p>
    )
  }
  const agent = agents.data.find((a) => a.id === agentId)
  return (
    <Field
      id="session-agent"
      label="Agent"
      hint={
        agent ? (
          <>
            Starts {agentLabel(agent.type)} in the terminal{" "}
            {agent.hasCredential
              ? agent.credentialType === "oauth"
                ? "with its OAuth login."
                : "with its API key."
              : "without a credential: it may ask you to log in."}{" "}
            <Link to="/agents" className="underline underline-offset-4">
              Manage agents
            </Link>
          </>
        ) : undefined
      }
      status={error ? { kind: "error", text: error } : { kind: "none" }}
    >
      {(aria) => (
        <Select value={agentId ?? ""} onValueChange={onPick}>
          <SelectTrigger {...aria} className="w-full" data-testid="session-agent-select">
            <SelectValue placeholder="Pick an agent" />
          </SelectTrigger>
          <SelectContent>
            {agents.data.map((a) => (
              <SelectItem key={a.id} value={a.id} data-testid="session-agent-option" data-name={a.name}>
                <AgentIcon type={a.type} />
                <span className="truncate">{a.name}</span>
                <span className="text-muted-foreground text-xs">{agentLabel(a.type)}</span>
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      )}
    </Field>
  )
}
