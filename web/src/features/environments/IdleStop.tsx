import { LoaderCircle, Pencil, TimerOff } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Checkbox } from "@/components/ui/checkbox"
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { Input } from "@/components/ui/input"
import { Label } from "@/components/ui/label"
import { describeError } from "@/lib/api/errors"
import type { Environment } from "@/lib/api/types"
import { useAuth } from "@/lib/auth/auth"
import { useSetIdleStop } from "@/features/environments/hooks"
import { describeIdle, minutesProblem } from "@/features/environments/idle"

/** How long the environment's workspaces may sit idle before the server stops them, and
 * for its owner (or an admin) a way to change it. */
export function IdleStopSummary({ environment: env }: { environment: Environment }) {
  const { user } = useAuth()
  const [open, setOpen] = useState(false)
  const minutes = env.idleStopMinutes
  const mayEdit = user !== undefined && (user.id === env.userId || user.isAdmin) && env.status !== "deleting"

  return (
    <div className="flex min-w-0 items-center gap-1.5" data-testid="idle-stop">
      <dt className="sr-only">Idle stop</dt>
      <TimerOff className="size-4 shrink-0" aria-hidden />
      <dd className="truncate" data-testid="idle-stop-summary">
        {minutes > 0 ? `Stops after ${describeIdle(minutes)} idle` : "Never stops when idle"}
      </dd>
      {mayEdit && (
        <Button
          variant="ghost"
          size="icon-sm"
          className="text-muted-foreground -my-1"
          aria-label="Change when idle workspaces stop"
          title="Change when idle workspaces stop"
          data-testid="idle-stop-edit"
          onClick={() => {
            setOpen(true)
          }}
        >
          <Pencil aria-hidden />
        </Button>
      )}
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent data-testid="idle-stop-dialog">
          {open && (
            <IdleStopForm
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

function IdleStopForm({ environment: env, onDone }: { environment: Environment; onDone: () => void }) {
  const [enabled, setEnabled] = useState(env.idleStopMinutes > 0)
  const [raw, setRaw] = useState(String(env.idleStopMinutes > 0 ? env.idleStopMinutes : 60))
  const [attempted, setAttempted] = useState(false)
  const [formError, setFormError] = useState<string | null>(null)
  const save = useSetIdleStop()
  const problem = enabled ? minutesProblem(raw) : null
  const status: FieldStatus =
    problem && (attempted || raw.trim() !== "")
      ? { kind: "error", text: problem }
      : enabled && !problem
        ? { kind: "info", text: `Stops after ${describeIdle(Number(raw.trim()))} idle.` }
        : { kind: "none" }

  const submit = (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setAttempted(true)
    if (problem || save.isPending) return
    setFormError(null)
    const minutes = enabled ? Number(raw.trim()) : 0
    save.mutate(
      { id: env.id, minutes },
      {
        onSuccess: (updated) => {
          toast.success(
            updated.idleStopMinutes > 0
              ? `${env.name}: workspaces stop after ${describeIdle(updated.idleStopMinutes)} idle`
              : `${env.name}: workspaces never stop when idle`,
          )
          onDone()
        },
        onError: (error) => {
          setFormError(describeError(error))
        },
      },
    )
  }

  return (
    <form onSubmit={submit} noValidate className="grid min-w-0 gap-5" data-testid="idle-stop-form">
      <DialogHeader>
        <DialogTitle>Idle stop of {env.name}</DialogTitle>
        <DialogDescription>
          A workspace with no terminal open, nothing typed and no session at work is stopped after this long, to give
          its memory and CPU back. Its files stay; opening one of its sessions starts it again, and agents continue their
          conversation.
        </DialogDescription>
      </DialogHeader>
      <FormError message={formError} data-testid="idle-stop-error" />
      <Label htmlFor="idle-stop-enabled" className="flex cursor-pointer items-center gap-2 font-normal">
        <Checkbox
          id="idle-stop-enabled"
          checked={enabled}
          onCheckedChange={(checked) => {
            setEnabled(checked === true)
            setFormError(null)
          }}
          data-testid="idle-stop-enabled"
        />
        Stop idle workspaces
      </Label>
      {enabled && (
        <Field id="idle-stop-minutes" label="Minutes idle before the stop" status={status} hint="From 1 to 10080 (a week).">
          {(aria) => (
            <Input
              {...aria}
              inputMode="numeric"
              autoComplete="off"
              value={raw}
              onChange={(e) => {
                setRaw(e.target.value)
                setFormError(null)
              }}
              data-testid="idle-stop-minutes"
            />
          )}
        </Field>
      )}
      <DialogFooter>
        <Button variant="outline" type="button" onClick={onDone} disabled={save.isPending}>
          Cancel
        </Button>
        <Button type="submit" data-testid="idle-stop-save" disabled={save.isPending || (attempted && problem !== null)}>
          {save.isPending && <LoaderCircle className="animate-spin" aria-hidden />}
          Save
        </Button>
      </DialogFooter>
    </form>
  )
}
