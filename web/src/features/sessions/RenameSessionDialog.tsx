import { LoaderCircle } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { Input } from "@/components/ui/input"
import { useAvailability } from "@/hooks/useAvailability"
import { ApiError, describeError, sentence } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import type { Session } from "@/lib/api/types"
import { queryKeys } from "@/lib/queries"
import { useUpdateSession } from "@/features/sessions/hooks"

export function RenameSessionDialog({
  session,
  open,
  onOpenChange,
}: {
  session: Session
  open: boolean
  onOpenChange: (open: boolean) => void
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent data-testid="rename-session-dialog">
        {open && (
          <RenameForm
            session={session}
            onDone={() => {
              onOpenChange(false)
            }}
          />
        )}
      </DialogContent>
    </Dialog>
  )
}

function RenameForm({ session, onDone }: { session: Session; onDone: () => void }) {
  const [name, setName] = useState(session.name)
  const [error, setError] = useState<unknown>(null)
  const update = useUpdateSession()
  const unchanged = name.trim() === session.name
  const check = useAvailability(
    name,
    queryKeys.checkSessionName(session.environmentId),
    (value, signal) => apiCalls.checkSessionName(session.environmentId, value, signal),
    { enabled: !unchanged },
  )

  const fieldError =
    error instanceof ApiError ? (error.fields.name ?? (error.status === 409 ? error.message : undefined)) : undefined
  const status: FieldStatus = fieldError
    ? { kind: "error", text: fieldError }
    : unchanged
      ? { kind: "none" }
      : check.checking
        ? { kind: "checking", text: "Checking the name…" }
        : check.result
          ? check.result.available
            ? { kind: "ok", text: "Available" }
            : { kind: "error", text: sentence(check.result.reason ?? "This name is not available") }
          : { kind: "none" }

  const canSubmit = !unchanged && name.trim() !== "" && check.result?.available !== false && !update.isPending

  const submit = (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (!canSubmit) return
    setError(null)
    update.mutate(
      { id: session.id, input: { name: name.trim() } },
      {
        onSuccess: (renamed) => {
          toast.success(`Renamed to ${renamed.name}`)
          onDone()
        },
        onError: setError,
      },
    )
  }

  return (
    <form onSubmit={submit} noValidate className="grid gap-5">
      <DialogHeader>
        <DialogTitle>Rename session</DialogTitle>
        <DialogDescription>The tmux status bar shows the new name the next time the session starts.</DialogDescription>
      </DialogHeader>
      <FormError message={error && !fieldError ? describeError(error) : null} />
      <Field id="rename-session-name" label="Name" status={status}>
        {(aria) => (
          <Input
            {...aria}
            data-testid="rename-session-input"
            autoFocus
            autoComplete="off"
            spellCheck={false}
            value={name}
            onChange={(e) => {
              setName(e.target.value)
              setError(null)
            }}
          />
        )}
      </Field>
      <DialogFooter>
        <Button variant="outline" onClick={onDone} disabled={update.isPending}>
          Cancel
        </Button>
        <Button type="submit" data-testid="rename-session-submit" disabled={!canSubmit}>
          {update.isPending && <LoaderCircle className="animate-spin" aria-hidden />}
          Rename
        </Button>
      </DialogFooter>
    </form>
  )
}
