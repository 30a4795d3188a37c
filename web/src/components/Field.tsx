import { CircleCheck, CircleAlert, LoaderCircle } from "lucide-react"
import type { ReactNode } from "react"

import { Label } from "@/components/ui/label"
import { cn } from "@/lib/utils"

export type FieldStatus =
  | { kind: "none" }
  | { kind: "checking"; text?: string }
  | { kind: "ok"; text: string }
  | { kind: "info"; text: string }
  | { kind: "error"; text: string }

interface FieldProps {
  id: string
  label: string
  /** Shown under the input until something more specific is known. */
  hint?: ReactNode
  optional?: boolean
  status?: FieldStatus
  children: (aria: { id: string; "aria-invalid": boolean; "aria-describedby": string }) => ReactNode
  className?: string
}

/** A label, an input and the one line below it (hint, check result or error), wired for
 * screen readers: the line is the input's description and errors mark it invalid. */
export function Field({ id, label, hint, optional, status = { kind: "none" }, children, className }: FieldProps) {
  const describedBy = `${id}-message`
  const invalid = status.kind === "error"
  return (
    <div className={cn("grid gap-2", className)}>
      <Label htmlFor={id}>
        {label}
        {optional && <span className="text-muted-foreground text-xs font-normal">(optional)</span>}
      </Label>
      {children({ id, "aria-invalid": invalid, "aria-describedby": describedBy })}
      <FieldLine id={describedBy} status={status} hint={hint} />
    </div>
  )
}

function FieldLine({ id, status, hint }: { id: string; status: FieldStatus; hint?: ReactNode }) {
  const base = "flex min-h-4 items-start gap-1.5 text-xs leading-4"
  switch (status.kind) {
    case "checking":
      return (
        <p id={id} data-testid={id} data-kind="checking" className={cn(base, "text-muted-foreground")} aria-live="polite">
          <LoaderCircle className="size-3.5 shrink-0 animate-spin" aria-hidden />
          {status.text ?? "Checking…"}
        </p>
      )
    case "ok":
      return (
        <p id={id} data-testid={id} data-kind="ok" className={cn(base, "text-success")} aria-live="polite">
          <CircleCheck className="size-3.5 shrink-0" aria-hidden />
          {status.text}
        </p>
      )
    case "info":
      return (
        <p id={id} data-testid={id} data-kind="info" className={cn(base, "text-muted-foreground")} aria-live="polite">
          {status.text}
        </p>
      )
    case "error":
      return (
        <p id={id} className={cn(base, "text-destructive")} role="alert" data-testid={id} data-kind="error">
          <CircleAlert className="size-3.5 shrink-0" aria-hidden />
          {status.text}
        </p>
      )
    case "none":
      return (
        <p id={id} data-testid={id} data-kind="hint" className={cn(base, "text-muted-foreground")}>
          {hint}
        </p>
      )
  }
}
