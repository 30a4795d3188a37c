import { KeyRound, LoaderCircle, Pencil, Plus, RotateCcw, Trash2 } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { ConfirmDialog } from "@/components/ConfirmDialog"
import { IconButton } from "@/components/IconButton"
import { FormError } from "@/components/States"
import { Badge } from "@/components/ui/badge"
import { Button } from "@/components/ui/button"
import { Card, CardAction, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Input } from "@/components/ui/input"
import { Label } from "@/components/ui/label"
import { Switch } from "@/components/ui/switch"
import { Textarea } from "@/components/ui/textarea"
import { apiCalls } from "@/lib/api/endpoints"
import { ApiError, describeError } from "@/lib/api/errors"
import type { Environment, Session, Variable } from "@/lib/api/types"
import { useAuth } from "@/lib/auth/auth"
import { pluralize } from "@/lib/format"
import { cn } from "@/lib/utils"
import { useStoreVariables, useVariables } from "@/features/environments/hooks"
import {
  MAX_VARIABLES,
  emptyRow,
  keepsStoredValue,
  rowProblems,
  rowsOf,
  serverProblems,
  toInput,
  type RowProblems,
  type VariableRow,
} from "@/features/environments/variables"
import { useUpdateSession } from "@/features/sessions/hooks"

/** The environment's variables and secrets, which every new session of it has in its
 * environment; its owner (or an admin) edits them, and is told which running sessions still
 * have the old values. */
export function VariablesPanel({ environment: env }: { environment: Environment }) {
  const { user } = useAuth()
  const variables = useVariables(env.id)
  const [editing, setEditing] = useState(false)
  const mayEdit = user !== undefined && (user.id === env.userId || user.isAdmin) && env.status !== "deleting"
  const outdated = env.sessions.filter((s) => s.variablesOutdated && s.status === "active")

  return (
    <Card className="gap-0 py-0" data-testid="variables-panel">
      <CardHeader className="border-b px-4 py-4 sm:px-5 [.border-b]:pb-4">
        <CardTitle className="text-base">Variables</CardTitle>
        <CardDescription>
          Every new session of this environment has them in its environment. Secrets are kept encrypted and never shown
          again.
        </CardDescription>
        {mayEdit && !editing && variables.isSuccess && (
          <CardAction>
            <Button
              variant="outline"
              size="sm"
              data-testid="variables-edit"
              onClick={() => {
                setEditing(true)
              }}
            >
              <Pencil aria-hidden />
              Edit
            </Button>
          </CardAction>
        )}
      </CardHeader>
      <CardContent className="space-y-4 px-4 py-4 sm:px-5">
        {outdated.length > 0 && <OutdatedSessions sessions={outdated} />}
        {variables.isPending ? (
          <p className="text-muted-foreground text-sm">Loading the variables…</p>
        ) : variables.isError ? (
          <FormError message={describeError(variables.error)} data-testid="variables-load-error" />
        ) : editing ? (
          <VariablesEditor
            environment={env}
            variables={variables.data.variables}
            onDone={() => {
              setEditing(false)
            }}
          />
        ) : (
          <VariablesList variables={variables.data.variables} />
        )}
      </CardContent>
    </Card>
  )
}

function VariablesList({ variables }: { variables: Variable[] }) {
  if (variables.length === 0) {
    return (
      <p className="text-muted-foreground text-sm" data-testid="variables-empty">
        No variables yet.
      </p>
    )
  }
  return (
    <dl className="grid gap-2 text-sm" data-testid="variables-list">
      {variables.map((v) => (
        <div
          key={v.name}
          className="flex min-w-0 items-center gap-2"
          data-testid="variable"
          data-name={v.name}
          data-secret={v.secret}
        >
          <dt className="shrink-0 font-mono font-medium">{v.name}</dt>
          <dd className="text-muted-foreground min-w-0 truncate font-mono" title={v.secret ? undefined : (v.value ?? "")}>
            {v.secret ? (
              <Badge variant="secondary" data-testid="variable-secret-set">
                <KeyRound aria-hidden />
                secret, set
              </Badge>
            ) : (
              v.value
            )}
          </dd>
        </div>
      ))}
    </dl>
  )
}

function OutdatedSessions({ sessions }: { sessions: Session[] }) {
  return (
    <div role="status" className="bg-muted/50 space-y-2 rounded-lg border p-3 text-sm" data-testid="variables-outdated">
      <p>
        {pluralize(sessions.length, "running session")} still {sessions.length === 1 ? "has" : "have"} the old values.
        Restarting a session gives it the new ones; new sessions get them at once.
      </p>
      <ul className="flex flex-wrap gap-2">
        {sessions.map((s) => (
          <RestartSession key={s.id} session={s} />
        ))}
      </ul>
    </div>
  )
}

function RestartSession({ session }: { session: Session }) {
  const [open, setOpen] = useState(false)
  const update = useUpdateSession()
  return (
    <li data-testid="variables-outdated-session" data-session-id={session.id}>
      <Button
        variant="outline"
        size="sm"
        data-testid="variables-restart-session"
        onClick={() => {
          setOpen(true)
        }}
      >
        <RotateCcw aria-hidden />
        Restart {session.name}
      </Button>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={`Restart ${session.name}?`}
        description={
          <p>
            Its tmux session ends, with whatever runs in it, and starts again in the same folder with the new values. An
            agent session continues its conversation.
          </p>
        }
        confirmLabel="Restart"
        onConfirm={async () => {
          // Ended with a plain call, so that the page shows it only once it runs again.
          await apiCalls.updateSession(session.id, { status: "dead" })
          await update.mutateAsync({ id: session.id, input: { status: "active" } })
          toast.success(`${session.name} restarted with the new values`)
        }}
      />
    </li>
  )
}

function VariablesEditor({
  environment: env,
  variables,
  onDone,
}: {
  environment: Environment
  variables: Variable[]
  onDone: () => void
}) {
  const [rows, setRows] = useState<VariableRow[]>(() => rowsOf(variables))
  const [attempted, setAttempted] = useState(false)
  const [saving, setSaving] = useState(false)
  const [server, setServer] = useState<Record<string, RowProblems>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const storeVariables = useStoreVariables(env.id)
  const problems = rowProblems(rows)
  const invalid = Object.keys(problems).length > 0

  const change = (key: string, patch: Partial<VariableRow>) => {
    setRows((list) => list.map((r) => (r.key === key ? { ...r, ...patch } : r)))
    setServer((s) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== key)))
    setFormError(null)
  }

  // A plain call rather than a mutation: no cache keeps the secrets sent.
  const save = async (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setAttempted(true)
    if (invalid || saving) return
    setSaving(true)
    setFormError(null)
    try {
      const saved = await apiCalls.setVariables(env.id, toInput(rows))
      storeVariables(saved)
      const stale = saved.outdatedSessions.length
      toast.success(`${env.name}: variables saved`, {
        description:
          stale > 0
            ? `${pluralize(stale, "running session")} still ${stale === 1 ? "has" : "have"} the old values until restarted.`
            : "New sessions get them.",
      })
      onDone()
    } catch (error) {
      const spread = error instanceof ApiError ? serverProblems(error, rows) : { rows: {}, form: null }
      setServer(spread.rows)
      setFormError(spread.form ?? (Object.keys(spread.rows).length > 0 ? null : describeError(error)))
    } finally {
      setSaving(false)
    }
  }

  return (
    <form onSubmit={(e) => void save(e)} noValidate className="grid gap-4" data-testid="variables-form">
      <FormError message={formError} data-testid="variables-error" />
      {rows.length === 0 && (
        <p className="text-muted-foreground text-sm" data-testid="variables-empty">
          No variables. Add one, or save to remove them all.
        </p>
      )}
      <ul className="grid gap-3">
        {rows.map((row, i) => (
          <VariableRowFields
            key={row.key}
            index={i}
            row={row}
            problems={{ ...(attempted || row.name !== "" ? problems[row.key] : undefined), ...server[row.key] }}
            onChange={(patch) => {
              change(row.key, patch)
            }}
            onRemove={() => {
              setRows((list) => list.filter((r) => r.key !== row.key))
            }}
          />
        ))}
      </ul>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <Button
          type="button"
          variant="outline"
          size="sm"
          data-testid="variables-add"
          disabled={rows.length >= MAX_VARIABLES}
          onClick={() => {
            setRows((list) => [...list, emptyRow()])
          }}
        >
          <Plus aria-hidden />
          Add a variable
        </Button>
        <div className="flex gap-2">
          <Button type="button" variant="outline" onClick={onDone} disabled={saving} data-testid="variables-cancel">
            Cancel
          </Button>
          <Button type="submit" data-testid="variables-save" disabled={saving || (attempted && invalid)}>
            {saving && <LoaderCircle className="animate-spin" aria-hidden />}
            Save
          </Button>
        </div>
      </div>
    </form>
  )
}

function VariableRowFields({
  index,
  row,
  problems,
  onChange,
  onRemove,
}: {
  index: number
  row: VariableRow
  problems: RowProblems
  onChange: (patch: Partial<VariableRow>) => void
  onRemove: () => void
}) {
  const id = `variable-${String(index)}`
  const kept = keepsStoredValue(row)
  return (
    <li
      className="grid gap-2 rounded-lg border p-3"
      data-testid="variable-row"
      data-name={row.name}
      data-secret={row.secret}
      data-state={kept ? "kept" : row.storedSecret ? "replacing" : "typed"}
    >
      <div className="flex items-start gap-2">
        <div className="grid min-w-0 flex-1 gap-1">
          <Label htmlFor={`${id}-name`} className="sr-only">
            Name
          </Label>
          <Input
            id={`${id}-name`}
            placeholder="NAME"
            autoComplete="off"
            spellCheck={false}
            className="font-mono"
            value={row.name}
            aria-invalid={problems.name !== undefined}
            aria-describedby={problems.name ? `${id}-name-error` : undefined}
            onChange={(e) => {
              onChange({ name: e.target.value })
            }}
            data-testid="variable-name"
          />
          {problems.name && <RowError id={`${id}-name-error`} text={problems.name} testId="variable-name-error" />}
        </div>
        <Label className="flex h-9 shrink-0 cursor-pointer items-center gap-2 font-normal">
          <Switch
            checked={row.secret}
            onCheckedChange={(secret) => {
              // A stored secret made plain needs its value typed: it cannot be shown.
              onChange(secret ? { secret } : { secret, replacing: row.storedSecret !== null })
            }}
            data-testid="variable-secret"
          />
          Secret
        </Label>
        <IconButton label={`Remove ${row.name || "this variable"}`} testId="variable-remove" destructive onClick={onRemove}>
          <Trash2 aria-hidden />
        </IconButton>
      </div>
      {kept ? (
        <div className="flex items-center gap-2">
          <Badge variant="secondary" data-testid="variable-secret-set">
            <KeyRound aria-hidden />
            secret, set
          </Badge>
          <Button
            type="button"
            variant="ghost"
            size="sm"
            data-testid="variable-replace"
            onClick={() => {
              onChange({ replacing: true, value: "" })
            }}
          >
            Replace
          </Button>
          {problems.value && <RowError id={`${id}-value-error`} text={problems.value} testId="variable-value-error" />}
        </div>
      ) : (
        <div className="grid gap-1">
          <Label htmlFor={`${id}-value`} className="sr-only">
            Value
          </Label>
          <Textarea
            id={`${id}-value`}
            rows={1}
            placeholder={row.secret ? "secret value" : "value"}
            autoComplete="off"
            spellCheck={false}
            className={cn("min-h-9 font-mono", row.secret && "[-webkit-text-security:disc]")}
            value={row.value}
            aria-invalid={problems.value !== undefined}
            aria-describedby={problems.value ? `${id}-value-error` : undefined}
            onChange={(e) => {
              onChange({ value: e.target.value })
            }}
            data-testid="variable-value"
          />
          {problems.value && <RowError id={`${id}-value-error`} text={problems.value} testId="variable-value-error" />}
        </div>
      )}
    </li>
  )
}

function RowError({ id, text, testId }: { id: string; text: string; testId: string }) {
  return (
    <p id={id} role="alert" className="text-destructive text-xs" data-testid={testId}>
      {text}
    </p>
  )
}
