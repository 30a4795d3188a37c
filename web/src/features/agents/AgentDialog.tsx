import { LoaderCircle } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { Input } from "@/components/ui/input"
import { Label } from "@/components/ui/label"
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group"
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select"
import { Textarea } from "@/components/ui/textarea"
import { describeError } from "@/lib/api/errors"
import type { Agent, AgentType, CredentialInput, CredentialType } from "@/lib/api/types"
import { cn } from "@/lib/utils"
import { AgentIcon } from "@/features/agents/AgentIcon"
import { AGENT_KINDS, agentKind, agentLabel } from "@/features/agents/agentTypes"
import {
  agentFieldErrors,
  agentNameProblem,
  credentialProblem,
  type AgentField,
} from "@/features/agents/credential"
import { useSaveAgent } from "@/features/agents/hooks"

/** What the dialog does: make an agent, rename one, or set or replace its credential. */
export type AgentDialogMode = { kind: "create" } | { kind: "rename"; agent: Agent } | { kind: "credential"; agent: Agent }

type CredentialChoice = "none" | CredentialType

export function AgentDialog({
  mode,
  open,
  onOpenChange,
}: {
  mode: AgentDialogMode
  open: boolean
  onOpenChange: (open: boolean) => void
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent data-testid="agent-dialog" data-mode={mode.kind}>
        {/* Mounted only while open: every opening starts empty, and a typed credential goes
            with the form when the dialog closes. */}
        {open && (
          <AgentForm
            mode={mode}
            onDone={() => {
              onOpenChange(false)
            }}
          />
        )}
      </DialogContent>
    </Dialog>
  )
}

function AgentForm({ mode, onDone }: { mode: AgentDialogMode; onDone: () => void }) {
  const existing = mode.kind === "create" ? null : mode.agent
  const [name, setName] = useState(existing?.name ?? "")
  const [type, setType] = useState<AgentType>("claude-code")
  const [choice, setChoice] = useState<CredentialChoice>(
    mode.kind === "create" ? "none" : existing?.credentialType === "oauth" ? "oauth" : "api-key",
  )
  const [value, setValue] = useState("")
  const [attempted, setAttempted] = useState(false)
  /** The credential was sent and refused: the field is empty again on purpose. */
  const [cleared, setCleared] = useState(false)
  const [serverFields, setServerFields] = useState<Partial<Record<AgentField, string>>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const [pending, setPending] = useState(false)
  const save = useSaveAgent()

  const agentType = existing?.type ?? type
  const kind = agentKind(agentType)
  const oauthAllowed = kind?.oauthHint !== null
  const showsName = mode.kind !== "credential"
  const showsCredential = mode.kind !== "rename"
  const wantsCredential = showsCredential && choice !== "none"

  const nameProblem = showsName ? agentNameProblem(name) : null
  const valueProblem = wantsCredential ? credentialProblem(choice, value, agentType) : null
  const unchanged = mode.kind === "rename" && name.trim() === mode.agent.name

  const clearServer = (field: AgentField) => {
    if (serverFields[field]) setServerFields(({ [field]: _gone, ...rest }) => rest)
    setFormError(null)
  }

  const nameStatus: FieldStatus = serverFields.name
    ? { kind: "error", text: serverFields.name }
    : nameProblem && (attempted || name !== "")
      ? { kind: "error", text: nameProblem }
      : { kind: "none" }
  const valueStatus: FieldStatus = serverFields.credential
    ? { kind: "error", text: serverFields.credential }
    : cleared && value === ""
      ? { kind: "info", text: "Paste the credential again: it is not kept once it has been sent." }
      : valueProblem && (attempted || (value !== "" && choice === "oauth"))
        ? { kind: "error", text: valueProblem }
        : { kind: "none" }

  const submit = async (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setAttempted(true)
    if (pending || unchanged || nameProblem || valueProblem) return
    const credential: CredentialInput | undefined = wantsCredential ? { type: choice, value } : undefined
    // Write-only: the value leaves the form as it is sent.
    setValue("")
    setCleared(credential !== undefined)
    setPending(true)
    setServerFields({})
    setFormError(null)
    try {
      if (mode.kind === "create") {
        const agent = await save.create({ name: name.trim(), type, ...(credential ? { credential } : {}) })
        toast.success(`Agent ${agent.name} created`)
      } else if (mode.kind === "rename") {
        const agent = await save.update(mode.agent.id, { name: name.trim() })
        toast.success(`Renamed to ${agent.name}`)
      } else if (credential) {
        const agent = await save.update(mode.agent.id, { credential })
        toast.success(`Credential of ${agent.name} ${mode.agent.hasCredential ? "replaced" : "set"}`)
      }
      onDone()
    } catch (error) {
      const fields = agentFieldErrors(error)
      setServerFields(fields)
      setFormError(Object.keys(fields).length > 0 ? null : describeError(error))
    } finally {
      setPending(false)
    }
  }

  const title =
    mode.kind === "create"
      ? "New agent"
      : mode.kind === "rename"
        ? `Rename ${mode.agent.name}`
        : `${mode.agent.hasCredential ? "Replace" : "Set"} the credential of ${mode.agent.name}`
  const description =
    mode.kind === "create"
      ? "A coding-agent CLI that agent sessions start in a branch's workspace, with the credential it logs in with."
      : mode.kind === "rename"
        ? "Sessions already started keep running; they show the new name."
        : mode.agent.hasCredential
          ? "The new credential replaces the stored one. Running sessions keep the one they started with."
          : `${agentLabel(mode.agent.type)} logs in with it in every new session of this agent.`

  return (
    <form onSubmit={(e) => void submit(e)} noValidate className="grid gap-5" data-testid="agent-form" autoComplete="off">
      <DialogHeader>
        <DialogTitle>{title}</DialogTitle>
        <DialogDescription>{description}</DialogDescription>
      </DialogHeader>
      <FormError message={formError} data-testid="agent-form-error" />
      {showsName && (
        <Field
          id="agent-name"
          label="Name"
          hint="Letters, digits, '.', '_' and '-'; unique among your agents."
          status={nameStatus}
        >
          {(aria) => (
            <Input
              {...aria}
              data-testid="agent-name-input"
              autoFocus
              autoComplete="off"
              spellCheck={false}
              maxLength={64}
              placeholder="e.g. claude"
              value={name}
              onChange={(e) => {
                setName(e.target.value)
                clearServer("name")
              }}
            />
          )}
        </Field>
      )}
      {mode.kind === "create" && (
        <Field
          id="agent-type"
          label="Type"
          hint={kind ? `Starts ${kind.command} in the session's terminal.` : undefined}
          status={serverFields.type ? { kind: "error", text: serverFields.type } : { kind: "none" }}
        >
          {(aria) => (
            <Select
              value={type}
              onValueChange={(next) => {
                const picked = next as AgentType
                setType(picked)
                clearServer("type")
                if (choice === "oauth" && agentKind(picked)?.oauthHint === null) setChoice("api-key")
              }}
            >
              <SelectTrigger {...aria} className="w-full" data-testid="agent-type-select">
                <SelectValue />
              </SelectTrigger>
              <SelectContent>
                {AGENT_KINDS.map((k) => (
                  <SelectItem key={k.type} value={k.type} data-testid="agent-type-option" data-type={k.type}>
                    <AgentIcon type={k.type} />
                    {k.label}
                    <span className="text-muted-foreground font-mono text-xs">{k.command}</span>
                  </SelectItem>
                ))}
              </SelectContent>
            </Select>
          )}
        </Field>
      )}
      {showsCredential && (
        <fieldset className="grid gap-3">
          <legend className="mb-2 text-sm leading-none font-medium">
            Credential
            {mode.kind === "create" && <span className="text-muted-foreground ml-2 text-xs font-normal">(optional)</span>}
          </legend>
          <RadioGroup
            value={choice}
            onValueChange={(next) => {
              setChoice(next as CredentialChoice)
              setValue("")
              setCleared(false)
              clearServer("credential")
            }}
            className="flex flex-wrap gap-2"
            aria-label="Kind of credential"
            data-testid="agent-credential-kind"
          >
            {(mode.kind === "create" ? (["none", "api-key", "oauth"] as const) : (["api-key", "oauth"] as const)).map((c) => {
              const disabled = c === "oauth" && !oauthAllowed
              return (
                <Label
                  key={c}
                  htmlFor={`agent-credential-${c}`}
                  title={disabled ? `${agentLabel(agentType)} takes only an API key` : undefined}
                  className={cn(
                    "has-[[data-state=checked]]:border-primary has-[[data-state=checked]]:bg-accent flex cursor-pointer items-center gap-2 rounded-md border px-3 py-2 font-normal",
                    disabled && "cursor-not-allowed opacity-50",
                  )}
                >
                  <RadioGroupItem
                    id={`agent-credential-${c}`}
                    value={c}
                    disabled={disabled}
                    data-testid={`agent-credential-kind-${c}`}
                  />
                  {c === "none" ? "None" : c === "api-key" ? "API key" : "OAuth"}
                </Label>
              )
            })}
          </RadioGroup>
          {choice === "none" ? (
            <p className="text-muted-foreground text-xs" data-testid="agent-credential-none">
              The CLI asks you to log in inside each session. You can add a credential later.
            </p>
          ) : (
            <Field
              id="agent-credential"
              label={choice === "api-key" ? "API key" : "Credentials file (JSON)"}
              hint={
                <>
                  {choice === "api-key" ? kind?.apiKeyHint : kind?.oauthHint} Stored encrypted; it is never shown
                  again.
                </>
              }
              status={valueStatus}
            >
              {(aria) =>
                choice === "api-key" ? (
                  <Input
                    {...aria}
                    data-testid="agent-credential-input"
                    type="password"
                    autoComplete="off"
                    data-1p-ignore
                    data-lpignore="true"
                    spellCheck={false}
                    autoFocus={mode.kind === "credential"}
                    placeholder={mode.kind === "credential" && mode.agent.hasCredential ? "New API key" : "Paste the key"}
                    value={value}
                    onChange={(e) => {
                      setValue(e.target.value)
                      setCleared(false)
                      clearServer("credential")
                    }}
                  />
                ) : (
                  <Textarea
                    {...aria}
                    data-testid="agent-credential-input"
                    autoComplete="off"
                    spellCheck={false}
                    autoFocus={mode.kind === "credential"}
                    className="max-h-48 min-h-24 font-mono text-xs"
                    placeholder='{"…": "…"}'
                    value={value}
                    onChange={(e) => {
                      setValue(e.target.value)
                      setCleared(false)
                      clearServer("credential")
                    }}
                  />
                )
              }
            </Field>
          )}
        </fieldset>
      )}
      <DialogFooter>
        <Button variant="outline" type="button" onClick={onDone} disabled={pending}>
          Cancel
        </Button>
        <Button type="submit" data-testid="agent-save-button" disabled={pending || unchanged}>
          {pending && <LoaderCircle className="animate-spin" aria-hidden />}
          {mode.kind === "create" ? "Create agent" : mode.kind === "rename" ? "Rename" : "Save credential"}
        </Button>
      </DialogFooter>
    </form>
  )
}
