import { Field, type FieldStatus } from "@/components/Field"
import { Label } from "@/components/ui/label"
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group"
import { Textarea } from "@/components/ui/textarea"
import type { EgressMode } from "@/lib/api/types"
import { EGRESS_MODES, hostLines, hostsProblem, type EgressField } from "@/features/environments/egress"

export interface EgressDraft {
  mode: EgressMode
  /** The hosts as typed, one per line. */
  hosts: string
}

/** The three modes and, for `allowlist`, the hosts one per line; shared by the dialog that
 * changes a policy and the form that creates an environment. */
export function EgressPolicyFields({
  idPrefix,
  draft,
  onChange,
  serverErrors,
  attempted,
}: {
  idPrefix: string
  draft: EgressDraft
  onChange: (draft: EgressDraft, edited: EgressField) => void
  /** The server's messages, which win over the local checks. */
  serverErrors: Partial<Record<EgressField, string>>
  /** A save was tried: show the local problems even in fields not touched yet. */
  attempted: boolean
}) {
  const lines = hostLines(draft.hosts)
  const local = hostsProblem(draft.mode, lines)
  const hostsStatus: FieldStatus = serverErrors.hosts
    ? { kind: "error", text: serverErrors.hosts }
    : local && (attempted || lines.length > 0)
      ? { kind: "error", text: local }
      : lines.length > 0
        ? { kind: "info", text: `${lines.length} ${lines.length === 1 ? "host" : "hosts"}` }
        : { kind: "none" }

  return (
    <fieldset className="grid gap-3" data-testid={`${idPrefix}-fields`}>
      <legend className="mb-2 text-sm leading-none font-medium">Internet access from the workspaces</legend>
      <RadioGroup
        value={draft.mode}
        onValueChange={(mode) => {
          onChange({ ...draft, mode: mode as EgressMode }, "mode")
        }}
        aria-label="Internet access"
        className="grid gap-2"
        data-testid={`${idPrefix}-mode`}
      >
        {EGRESS_MODES.map(({ mode, label, hint }) => (
          <Label
            key={mode}
            htmlFor={`${idPrefix}-mode-${mode}`}
            className="has-[[data-state=checked]]:border-primary has-[[data-state=checked]]:bg-accent flex cursor-pointer items-start gap-2 rounded-md border px-3 py-2 font-normal"
          >
            <RadioGroupItem
              id={`${idPrefix}-mode-${mode}`}
              value={mode}
              className="mt-0.5"
              data-testid={`${idPrefix}-mode-${mode}`}
            />
            <span className="grid gap-0.5">
              <span className="font-medium">{label}</span>
              <span className="text-muted-foreground text-xs">{hint}</span>
            </span>
          </Label>
        ))}
      </RadioGroup>
      {serverErrors.mode && (
        <p role="alert" className="text-destructive text-xs" data-testid={`${idPrefix}-mode-message`}>
          {serverErrors.mode}
        </p>
      )}
      {draft.mode === "allowlist" && (
        <Field
          id={`${idPrefix}-hosts`}
          label="Allowed hosts"
          hint="One per line, e.g. github.com; *.example.com allows every subdomain of example.com."
          status={hostsStatus}
        >
          {(aria) => (
            <Textarea
              {...aria}
              data-testid={`${idPrefix}-hosts-input`}
              autoComplete="off"
              spellCheck={false}
              className="max-h-60 min-h-28 font-mono text-xs"
              placeholder={"github.com\n*.githubusercontent.com\nregistry.npmjs.org"}
              value={draft.hosts}
              onChange={(e) => {
                onChange({ ...draft, hosts: e.target.value }, "hosts")
              }}
            />
          )}
        </Field>
      )}
    </fieldset>
  )
}
