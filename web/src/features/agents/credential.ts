// Checks made before anything is sent, mirroring the server's rules, and the server's
// per-field answers mapped onto the agent form.

import { ApiError } from "@/lib/api/errors"
import type { Agent, CredentialType } from "@/lib/api/types"

/** The server refuses credentials over 32 KiB. */
export const MAX_CREDENTIAL_BYTES = 32 * 1024
export const MAX_AGENT_NAME = 64

/** Why `name` would be refused, or null. */
export function agentNameProblem(name: string): string | null {
  const n = name.trim()
  if (n === "") return "Give the agent a name."
  if (n.length > MAX_AGENT_NAME) return `At most ${MAX_AGENT_NAME} characters.`
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) {
    return "Letters, digits, '.', '_' and '-' only, starting with a letter or digit."
  }
  return null
}

/** An OpenCode API key names its provider (OpenCode's id of it) before the key. */
const OPENCODE_KEY = /^[a-z0-9][a-z0-9._-]{0,63}:.+$/

/** Why the credential cannot be sent, or null: an API key is one token (for OpenCode,
 * `provider:key`); an OAuth credential is the CLI's credentials file, which must parse as
 * a JSON object. */
export function credentialProblem(type: CredentialType, value: string, agentType?: string): string | null {
  if (new TextEncoder().encode(value).length > MAX_CREDENTIAL_BYTES) {
    return `A credential is at most ${MAX_CREDENTIAL_BYTES / 1024} KiB.`
  }
  if (type === "api-key") {
    const key = value.trim()
    if (key === "") return "Paste the API key."
    if (/\s/.test(key)) return "An API key is one token, without spaces or line breaks."
    if (agentType === "opencode" && !OPENCODE_KEY.test(key)) {
      return "Name the provider before the key, as provider:key, e.g. anthropic:sk-ant-… or openai:sk-…."
    }
    return null
  }
  if (value.trim() === "") return "Paste the content of the CLI's credentials file."
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (error) {
    const why = error instanceof Error && error.message ? ` (${error.message})` : ""
    return `This is not valid JSON${why}. Paste the whole credentials file.`
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return "The credentials file is a JSON object ({ … }); this is JSON, but not an object."
  }
  return null
}

/** "API key", "OAuth" or "Not set": what the agent's credential is, never what it holds. */
export function credentialSummary(agent: Pick<Agent, "hasCredential" | "credentialType">): string {
  if (!agent.hasCredential) return "Not set"
  switch (agent.credentialType) {
    case "api-key":
      return "API key set"
    case "oauth":
      return "OAuth set"
    default:
      return "Set"
  }
}

export type AgentField = "name" | "type" | "credential"

/** The server's per-field messages on the form's fields (`credential.type` and
 * `credential.value` both belong to the credential), and a taken name on the name. */
export function agentFieldErrors(error: unknown): Partial<Record<AgentField, string>> {
  if (!(error instanceof ApiError)) return {}
  const out: Partial<Record<AgentField, string>> = {}
  for (const [key, message] of Object.entries(error.fields)) {
    const field = key === "name" || key === "type" ? key : key.startsWith("credential") ? "credential" : null
    if (field && !out[field]) out[field] = message
  }
  if (error.status === 409 && error.code === "name_taken" && !out.name) out.name = error.message
  return out
}
