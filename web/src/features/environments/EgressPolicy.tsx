import { Globe, LoaderCircle, Pencil } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { describeError } from "@/lib/api/errors"
import type { EgressPolicy, Environment } from "@/lib/api/types"
import { useAuth } from "@/lib/auth/auth"
import { EgressPolicyFields, type EgressDraft } from "@/features/environments/EgressPolicyFields"
import {
  describePolicy,
  egressFieldErrors,
  hostLines,
  hostsProblem,
  policyOf,
  type EgressField,
} from "@/features/environments/egress"
import { useSetEgressPolicy } from "@/features/environments/hooks"

/** What the environment's workspaces may reach, and for its owner (or an admin) a way to
 * change it. */
export function EgressPolicySummary({ environment: env }: { environment: Environment }) {
  const { user } = useAuth()
  const [open, setOpen] = useState(false)
  const policy = env.egressPolicy
  const mayEdit = user !== undefined && (user.id === env.userId || user.isAdmin) && env.status !== "deleting"

  return (
    <div className="flex min-w-0 items-center gap-1.5" data-testid="egress-policy" data-mode={policy.mode}>
      <dt className="sr-only">Internet access</dt>
      <Globe className="size-4 shrink-0" aria-hidden />
      <dd className="truncate" title={policy.mode === "allowlist" ? policy.hosts.join("\n") : undefined}>
        <span data-testid="egress-policy-summary">{describePolicy(policy)}</span>
      </dd>
      {mayEdit && (
        <Button
          variant="ghost"
          size="icon-sm"
          className="text-muted-foreground -my-1"
          aria-label="Change the internet access"
          title="Change the internet access"
          data-testid="egress-policy-edit"
          onClick={() => {
            setOpen(true)
          }}
        >
          <Pencil aria-hidden />
        </Button>
      )}
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent data-testid="egress-policy-dialog">
          {/* Mounted only while open: every opening starts from the stored policy. */}
          {open && (
            <EgressPolicyForm
              environment={env}
              onDone={() => {
                setOpen(false)
              }}
            />
          )}
        </DialogContent>
      </Dialog>
    </div>
  )
}

function draftOf(policy: EgressPolicy): EgressDraft {
  return { mode: policy.mode, hosts: policy.hosts.join("\n") }
}

function EgressPolicyForm({ environment: env, onDone }: { environment: Environment; onDone: () => void }) {
  const [draft, setDraft] = useState<EgressDraft>(() => draftOf(env.egressPolicy))
  const [attempted, setAttempted] = useState(false)
  const [serverErrors, setServerErrors] = useState<Partial<Record<EgressField, string>>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const save = useSetEgressPolicy()
  const problem = hostsProblem(draft.mode, hostLines(draft.hosts))

  const submit = (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setAttempted(true)
    if (problem || save.isPending) return
    setServerErrors({})
    setFormError(null)
    save.mutate(
      { id: env.id, policy: policyOf(draft.mode, draft.hosts) },
      {
        onSuccess: (updated) => {
          toast.success(`${env.name}: ${describePolicy(updated.egressPolicy).toLowerCase()}`)
          onDone()
        },
        onError: (error) => {
          const fields = egressFieldErrors(error)
          setServerErrors(fields)
          setFormError(Object.keys(fields).length > 0 ? null : describeError(error))
        },
      },
    )
  }

  return (
    <form onSubmit={submit} noValidate className="grid min-w-0 gap-5" data-testid="egress-policy-form">
      <DialogHeader>
        <DialogTitle>Internet access of {env.name}</DialogTitle>
        <DialogDescription>
          Which hosts outside this server the environment&apos;s workspaces, and the agents in them, may connect to.
        </DialogDescription>
      </DialogHeader>
      <FormError message={formError} data-testid="egress-policy-error" />
      <EgressPolicyFields
        idPrefix="egress"
        draft={draft}
        attempted={attempted}
        serverErrors={serverErrors}
        onChange={(next, edited) => {
          setDraft(next)
          if (serverErrors[edited]) setServerErrors(({ [edited]: _gone, ...rest }) => rest)
          setFormError(null)
        }}
      />
      <DialogFooter>
        <Button variant="outline" type="button" onClick={onDone} disabled={save.isPending}>
          Cancel
        </Button>
        <Button type="submit" data-testid="egress-policy-save" disabled={save.isPending || (attempted && problem !== null)}>
          {save.isPending && <LoaderCircle className="animate-spin" aria-hidden />}
          Save
        </Button>
      </DialogFooter>
    </form>
  )
}
