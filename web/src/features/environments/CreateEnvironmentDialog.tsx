import { ChevronDown, LoaderCircle } from "lucide-react"
import { useState, type ReactNode } from "react"
import { toast } from "sonner"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog"
import { Input } from "@/components/ui/input"
import { useAvailability } from "@/hooks/useAvailability"
import { ApiError, describeError, sentence } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import { queryKeys } from "@/lib/queries"
import { cn } from "@/lib/utils"
import { EgressPolicyFields, type EgressDraft } from "@/features/environments/EgressPolicyFields"
import {
  describePolicy,
  egressFieldErrors,
  hostLines,
  hostsProblem,
  policyOf,
  type EgressField,
} from "@/features/environments/egress"
import { useCreateEnvironment } from "@/features/environments/hooks"
import { RepositoryPicker } from "@/features/github/RepositoryPicker"
import { repositoryName } from "@/features/github/repositories"

type FieldName = "name" | "repositoryUrl" | "branch"

export function CreateEnvironmentDialog({ trigger }: { trigger: ReactNode }) {
  const [open, setOpen] = useState(false)
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>{trigger}</DialogTrigger>
      <DialogContent data-testid="create-environment-dialog">
        {/* Mounted only while open, so every opening starts from an empty form. */}
        {open && (
          <CreateEnvironmentForm
            onDone={() => {
              setOpen(false)
            }}
          />
        )}
      </DialogContent>
    </Dialog>
  )
}

function CreateEnvironmentForm({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState("")
  const [repositoryUrl, setRepositoryUrl] = useState("")
  const [branch, setBranch] = useState("")
  const [serverFields, setServerFields] = useState<Partial<Record<FieldName, string>>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const [advanced, setAdvanced] = useState(false)
  const [egress, setEgress] = useState<EgressDraft>({ mode: "open", hosts: "" })
  const [egressErrors, setEgressErrors] = useState<Partial<Record<EgressField, string>>>({})
  const [attempted, setAttempted] = useState(false)
  const create = useCreateEnvironment()
  const egressProblem = hostsProblem(egress.mode, hostLines(egress.hosts))

  const nameCheck = useAvailability(name, queryKeys.checkEnvironmentName, (value, signal) =>
    apiCalls.checkEnvironmentName(value, signal),
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

  const nameUnavailable = nameCheck.result?.available === false
  const canSubmit = name.trim() !== "" && !nameUnavailable && !create.isPending

  const submit = (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setAttempted(true)
    if (egressProblem) setAdvanced(true)
    if (!canSubmit || egressProblem) return
    setFormError(null)
    const input = {
      name: name.trim(),
      ...(repositoryUrl.trim() ? { repositoryUrl: repositoryUrl.trim() } : {}),
      ...(branch.trim() ? { branch: branch.trim() } : {}),
      ...(egress.mode !== "open" ? { egressPolicy: policyOf(egress.mode, egress.hosts) } : {}),
    }
    create.mutate(input, {
      onSuccess: (env) => {
        toast.success(`Creating ${env.name}`, {
          description: env.repositoryUrl ? "Cloning the repository; this can take a minute." : "Preparing an empty repository.",
        })
        onDone()
      },
      onError: (error) => {
        const fields: Partial<Record<FieldName, string>> = {}
        if (error instanceof ApiError) {
          for (const key of ["name", "repositoryUrl", "branch"] as const) {
            const message = error.fields[key]
            if (message) fields[key] = message
          }
          if (error.status === 409 && error.code === "name_taken") fields.name = error.message
        }
        const egressFields = egressFieldErrors(error)
        if (Object.keys(egressFields).length > 0) setAdvanced(true)
        setServerFields(fields)
        setEgressErrors(egressFields)
        setFormError(Object.keys(fields).length + Object.keys(egressFields).length > 0 ? null : describeError(error))
      },
    })
  }

  return (
    <form onSubmit={submit} noValidate className="grid min-w-0 gap-5" data-testid="create-environment-form">
      <DialogHeader>
        <DialogTitle>New environment</DialogTitle>
        <DialogDescription>
          A repository (or an empty one) with a container per branch you work on.
        </DialogDescription>
      </DialogHeader>
      <FormError message={formError} data-testid="create-environment-error" />
      <Field id="environment-name" label="Name" hint="Up to 64 letters, digits, dots, dashes and underscores." status={nameStatus}>
        {(aria) => (
          <Input
            {...aria}
            data-testid="environment-name-input"
            autoFocus
            autoComplete="off"
            spellCheck={false}
            placeholder="my-app"
            value={name}
            onChange={edit("name", setName)}
          />
        )}
      </Field>
      <RepositoryPicker
        selectedUrl={repositoryUrl.trim()}
        onPick={(repository) => {
          setRepositoryUrl(repository.cloneUrl)
          // An empty repository has no branch yet: the server picks one.
          setBranch(repository.defaultBranch ?? "")
          if (name.trim() === "") setName(repositoryName(repository.fullName))
          setServerFields(({ repositoryUrl: _url, branch: _branch, ...rest }) => rest)
        }}
      />
      <Field
        id="environment-repository"
        label="Repository URL"
        optional
        hint="https://…, ssh://… or git@host:path. Leave empty to start from an empty repository."
        status={serverFields.repositoryUrl ? { kind: "error", text: serverFields.repositoryUrl } : { kind: "none" }}
      >
        {(aria) => (
          <Input
            {...aria}
            data-testid="environment-repository-input"
            type="url"
            inputMode="url"
            autoComplete="off"
            spellCheck={false}
            placeholder="https://github.com/you/project.git"
            value={repositoryUrl}
            onChange={edit("repositoryUrl", setRepositoryUrl)}
          />
        )}
      </Field>
      <Field
        id="environment-branch"
        label="Branch"
        optional
        hint="The default branch; the repository's own when left empty."
        status={serverFields.branch ? { kind: "error", text: serverFields.branch } : { kind: "none" }}
      >
        {(aria) => (
          <Input
            {...aria}
            data-testid="environment-branch-input"
            autoComplete="off"
            spellCheck={false}
            placeholder="main"
            value={branch}
            onChange={edit("branch", setBranch)}
          />
        )}
      </Field>
      <div className="grid gap-3">
        <Button
          type="button"
          variant="ghost"
          size="sm"
          className="text-muted-foreground -mx-2 justify-start"
          aria-expanded={advanced}
          aria-controls="create-egress-section"
          data-testid="create-environment-advanced"
          onClick={() => {
            setAdvanced((v) => !v)
          }}
        >
          <ChevronDown className={cn("transition-transform", !advanced && "-rotate-90")} aria-hidden />
          Advanced
          <span className="text-xs font-normal">({describePolicy(policyOf(egress.mode, egress.hosts))})</span>
        </Button>
        {advanced && (
          <div id="create-egress-section">
            <EgressPolicyFields
              idPrefix="create-egress"
              draft={egress}
              attempted={attempted}
              serverErrors={egressErrors}
              onChange={(next, edited) => {
                setEgress(next)
                if (egressErrors[edited]) setEgressErrors(({ [edited]: _gone, ...rest }) => rest)
              }}
            />
          </div>
        )}
      </div>
      <DialogFooter>
        <Button variant="outline" onClick={onDone} disabled={create.isPending}>
          Cancel
        </Button>
        <Button type="submit" data-testid="create-environment-submit" disabled={!canSubmit}>
          {create.isPending && <LoaderCircle className="animate-spin" aria-hidden />}
          Create environment
        </Button>
      </DialogFooter>
    </form>
  )
}
