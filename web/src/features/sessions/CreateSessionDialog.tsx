import { LoaderCircle } from "lucide-react"
import { useState } from "react"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { Input } from "@/components/ui/input"
import { useAvailability } from "@/hooks/useAvailability"
import { ApiError, describeError, sentence } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import type { Environment, Session } from "@/lib/api/types"
import { queryKeys } from "@/lib/queries"
import { branchStatus } from "@/features/sessions/branches"
import { useCreateSession } from "@/features/sessions/hooks"

type FieldName = "name" | "branch" | "workingDirectory"

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
  const [serverFields, setServerFields] = useState<Partial<Record<FieldName, string>>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const create = useCreateSession()
  const envId = environment.id

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

  const blocked = nameCheck.result?.available === false || branchCheck.result?.valid === false
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
      },
      {
        onSuccess: onCreated,
        onError: (error) => {
          const fields: Partial<Record<FieldName, string>> = {}
          if (error instanceof ApiError) {
            for (const key of ["name", "branch", "workingDirectory"] as const) {
              const message = error.fields[key]
              if (message) fields[key] = message
            }
            if (error.status === 409 && error.code === "name_taken") fields.name = error.message
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
      <Field id="session-name" label="Name" optional hint="Made from the branch when left empty." status={nameStatus}>
        {(aria) => (
          <Input
            {...aria}
            data-testid="session-name-input"
            autoFocus
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
