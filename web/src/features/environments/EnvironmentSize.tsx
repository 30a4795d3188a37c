import { Cpu, LoaderCircle, Pencil } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Checkbox } from "@/components/ui/checkbox"
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { Input } from "@/components/ui/input"
import { Label } from "@/components/ui/label"
import { ApiError, describeError, sentence } from "@/lib/api/errors"
import type { Environment, SizeInput, WorkspaceUsage } from "@/lib/api/types"
import { useAuth } from "@/lib/auth/auth"
import { diskUse, formatBytes, formatDateTime } from "@/lib/format"
import { cn } from "@/lib/utils"
import { useSetSize, useUsage } from "@/features/environments/hooks"
import {
  cpusProblem,
  describeSize,
  diskProblem,
  formatCpus,
  memoryProblem,
  parseSize,
  share,
  sizeText,
} from "@/features/environments/size"

/** Share of a limit from which use is shown as a warning. */
const NEARLY_FULL = 0.9

/** The memory, CPUs and disk of the environment's workspaces, and for its owner (or an
 * admin) a way to change them within the server's maxima. */
export function SizeSummary({ environment: env }: { environment: Environment }) {
  const { user } = useAuth()
  const [open, setOpen] = useState(false)
  const mayEdit = user !== undefined && (user.id === env.userId || user.isAdmin) && env.status !== "deleting"

  return (
    <div className="flex min-w-0 items-center gap-1.5" data-testid="environment-size">
      <dt className="sr-only">Size of each workspace</dt>
      <Cpu className="size-4 shrink-0" aria-hidden />
      <dd className="truncate" data-testid="environment-size-summary" title="Memory, CPUs and disk of each workspace">
        {describeSize(env.size.effective)}
      </dd>
      {mayEdit && (
        <Button
          variant="ghost"
          size="icon-sm"
          className="text-muted-foreground -my-1"
          aria-label="Change the size of the workspaces"
          title="Change the size of the workspaces"
          data-testid="environment-size-edit"
          onClick={() => {
            setOpen(true)
          }}
        >
          <Pencil aria-hidden />
        </Button>
      )}
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent data-testid="environment-size-dialog">
          {open && (
            <SizeForm
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

type SizeField = "memoryBytes" | "cpus" | "diskBytes"

/** One field of the form: its own value, or the server's default. */
interface Choice {
  own: boolean
  raw: string
}

function SizeForm({ environment: env, onDone }: { environment: Environment; onDone: () => void }) {
  const { setting, defaults, maxima } = env.size
  const [memory, setMemory] = useState<Choice>({
    own: setting.memoryBytes !== null,
    raw: sizeText(setting.memoryBytes ?? defaults.memoryBytes),
  })
  const [cpus, setCpus] = useState<Choice>({
    own: setting.cpus !== null,
    raw: String(setting.cpus ?? defaults.cpus),
  })
  const [disk, setDisk] = useState<Choice>({
    own: setting.diskBytes !== null,
    raw: sizeText(setting.diskBytes ?? defaults.diskBytes ?? 10 * 2 ** 30),
  })
  const [attempted, setAttempted] = useState(false)
  const [serverErrors, setServerErrors] = useState<Partial<Record<SizeField, string>>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const save = useSetSize()

  const problems: Record<SizeField, string | null> = {
    memoryBytes: memory.own ? memoryProblem(memory.raw, maxima.memoryBytes) : null,
    cpus: cpus.own ? cpusProblem(cpus.raw, maxima.cpus) : null,
    diskBytes: disk.own ? diskProblem(disk.raw, maxima.diskBytes) : null,
  }
  const invalid = Object.values(problems).some((p) => p !== null)
  const statusOf = (field: SizeField, choice: Choice): FieldStatus => {
    const problem = problems[field] ?? serverErrors[field]
    if (problem && (attempted || choice.raw.trim() !== "")) return { kind: "error", text: problem }
    return { kind: "none" }
  }

  const submit = (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setAttempted(true)
    if (invalid || save.isPending) return
    setFormError(null)
    setServerErrors({})
    const size: SizeInput = {
      memoryBytes: memory.own ? parseSize(memory.raw) : null,
      cpus: cpus.own ? Number(cpus.raw.trim()) : null,
      diskBytes: disk.own ? parseSize(disk.raw) : null,
    }
    save.mutate(
      { id: env.id, size },
      {
        onSuccess: (updated) => {
          toast.success(`${env.name}: each workspace gets ${describeSize(updated.size.effective)}`)
          onDone()
        },
        onError: (error) => {
          const fields = error instanceof ApiError ? fieldProblems(error) : {}
          if (Object.keys(fields).length > 0) {
            setServerErrors(fields)
          } else {
            setFormError(describeError(error))
          }
        },
      },
    )
  }

  const field = (
    id: SizeField,
    label: string,
    choice: Choice,
    set: (c: Choice) => void,
    defaultText: string,
    maxText: string,
  ) => (
    <div className="grid gap-2" data-testid={`size-${id}`}>
      <Label htmlFor={`size-${id}-default`} className="flex cursor-pointer items-center gap-2 font-normal">
        <Checkbox
          id={`size-${id}-default`}
          checked={!choice.own}
          onCheckedChange={(checked) => {
            set({ ...choice, own: checked !== true })
            setServerErrors({})
          }}
          data-testid={`size-${id}-default`}
        />
        {label}: the server&apos;s default ({defaultText})
      </Label>
      {choice.own && (
        <Field id={`size-${id}-input`} label={label} status={statusOf(id, choice)} hint={`At most ${maxText}.`}>
          {(aria) => (
            <Input
              {...aria}
              autoComplete="off"
              value={choice.raw}
              onChange={(e) => {
                set({ ...choice, raw: e.target.value })
                setServerErrors({})
              }}
              data-testid={`size-${id}-input`}
            />
          )}
        </Field>
      )}
    </div>
  )

  return (
    <form onSubmit={submit} noValidate className="grid min-w-0 gap-5" data-testid="environment-size-form">
      <DialogHeader>
        <DialogTitle>Size of the workspaces of {env.name}</DialogTitle>
        <DialogDescription>
          Each workspace of this environment gets this memory (no swap beyond it), these CPUs and this disk. Running
          workspaces get the memory and CPUs at once; the disk cap applies from the next measurement.
        </DialogDescription>
      </DialogHeader>
      <FormError message={formError} data-testid="environment-size-error" />
      {field(
        "memoryBytes",
        "Memory",
        memory,
        setMemory,
        formatBytes(defaults.memoryBytes),
        formatBytes(maxima.memoryBytes),
      )}
      {field("cpus", "CPUs", cpus, setCpus, formatCpus(defaults.cpus), formatCpus(maxima.cpus))}
      {field(
        "diskBytes",
        "Disk",
        disk,
        setDisk,
        defaults.diskBytes === null ? "no cap" : formatBytes(defaults.diskBytes),
        maxima.diskBytes === null ? "any size" : formatBytes(maxima.diskBytes),
      )}
      <DialogFooter>
        <Button variant="outline" type="button" onClick={onDone} disabled={save.isPending}>
          Cancel
        </Button>
        <Button type="submit" data-testid="environment-size-save" disabled={save.isPending || (attempted && invalid)}>
          {save.isPending && <LoaderCircle className="animate-spin" aria-hidden />}
          Save
        </Button>
      </DialogFooter>
    </form>
  )
}

/** The server's sentence about each field, without the field's name it starts with. */
function fieldProblems(error: ApiError): Partial<Record<SizeField, string>> {
  const out: Partial<Record<SizeField, string>> = {}
  for (const field of ["memoryBytes", "cpus", "diskBytes"] as const) {
    const message = error.fields[field]
    if (message) out[field] = sentence(message.replace(new RegExp(`^${field}: `, "i"), ""))
  }
  return out
}

/** What each workspace of a running environment uses now, next to its limits. */
export function ResourcesCard({ environment: env }: { environment: Environment }) {
  const usage = useUsage(env)
  if (env.status !== "running") return null
  const workspaces = usage.data?.workspaces ?? []
  return (
    <Card className="gap-3" data-testid="resources-card">
      <CardHeader>
        <CardTitle className="text-base">Resources</CardTitle>
        <CardDescription>Each workspace: {describeSize(env.size.effective)}</CardDescription>
      </CardHeader>
      <CardContent>
        {usage.isPending ? (
          <p className="text-muted-foreground text-sm">Reading what the workspaces use…</p>
        ) : usage.isError ? (
          <p className="text-muted-foreground text-sm" data-testid="resources-error">
            {describeError(usage.error)}
          </p>
        ) : (
          <ul className="space-y-3">
            {workspaces.map((w) => (
              <ResourceRow key={w.workspaceId} usage={w} />
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  )
}

function ResourceRow({ usage: w }: { usage: WorkspaceUsage }) {
  const disk = diskUse(w)
  return (
    <li className="space-y-1 text-sm" data-testid="resources-workspace" data-branch={w.branch} data-status={w.status}>
      <p className="font-mono text-xs">{w.branch}</p>
      {w.memoryBytes != null && w.memoryLimitBytes != null ? (
        <Meter
          label="Memory"
          used={w.memoryBytes}
          limit={w.memoryLimitBytes}
          text={`${formatBytes(w.memoryBytes)} of ${formatBytes(w.memoryLimitBytes)}`}
          testId="resources-memory"
        />
      ) : (
        <p className="text-muted-foreground text-xs" data-testid="resources-memory-unknown">
          Memory: {w.status === "running" ? (w.memoryUnknown ?? "not known") : `not running (${w.status})`}
        </p>
      )}
      {disk && (
        <Meter
          label="Disk"
          used={w.diskBytes ?? 0}
          limit={w.diskLimitBytes ?? 0}
          text={disk}
          title={`Measured ${formatDateTime(w.diskMeasuredAt)}`}
          testId="resources-disk"
        />
      )}
    </li>
  )
}

function Meter({
  label,
  used,
  limit,
  text,
  title,
  testId,
}: {
  label: string
  used: number
  limit: number
  text: string
  title?: string
  testId: string
}) {
  const part = share(used, limit)
  const full = limit > 0 && part >= NEARLY_FULL
  return (
    <div className="grid gap-1" title={title} data-testid={testId} data-full={full}>
      <div className={cn("flex justify-between text-xs", full ? "text-warning" : "text-muted-foreground")}>
        <span>{label}</span>
        <span>{text}</span>
      </div>
      {limit > 0 && (
        <div
          className="bg-muted h-1.5 overflow-hidden rounded-full"
          role="meter"
          aria-label={`${label} used`}
          aria-valuemin={0}
          aria-valuemax={limit}
          aria-valuenow={used}
          aria-valuetext={text}
        >
          <div className={cn("h-full", full ? "bg-warning" : "bg-primary")} style={{ width: `${String(part * 100)}%` }} />
        </div>
      )}
    </div>
  )
}
