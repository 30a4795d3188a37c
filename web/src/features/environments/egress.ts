// An environment's egress policy in the UI: the hosts typed one per line, the same checks
// the server makes (so a bad line shows before saving), and the server's field errors.

import { ApiError } from "@/lib/api/errors"
import type { EgressMode, EgressPolicy } from "@/lib/api/types"

export const MAX_HOSTS = 100

export const EGRESS_MODES: { mode: EgressMode; label: string; hint: string }[] = [
  { mode: "open", label: "Open", hint: "Workspaces may connect to any host." },
  { mode: "none", label: "No internet", hint: "Workspaces may connect to no host outside this server." },
  {
    mode: "allowlist",
    label: "Allowlist",
    hint: "Workspaces may connect only to the hosts listed below.",
  },
]

/** The hosts of a textarea: one per line (commas and spaces separate too), blanks dropped. */
export function hostLines(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((h) => h.trim())
    .filter((h) => h !== "")
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** Why the server would refuse `raw` as an allowlisted host, or null. Mirrors the server's
 * rules; the server's own message wins when it answers. */
export function hostProblem(raw: string): string | null {
  const host = raw.trim()
  const url = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(host)
  if (url) {
    const named = (url[1] ?? "").toLowerCase()
    return `Not a host name: write ${named === "" ? "the host alone" : named}.`
  }
  if (/[^\x20-\x7e]/.test(host)) return "Write an internationalized name in its punycode form (xn--…)."
  const name = host.toLowerCase().replace(/\.$/, "")
  const colons = name.split(":").length - 1
  if (/^\d+(\.\d+){3}(:\d+)?$/.test(name) || name.startsWith("[") || (colons >= 2 && /^[0-9a-f:.]+$/.test(name))) {
    return "An IP address: the policy allows host names only."
  }
  if (name.includes("/")) return `Has a path: write ${name.split("/")[0]}.`
  if (name.includes("@")) return `Has a user name: write ${name.split("@").pop()}.`
  if (name.includes(":")) return `Has a port: write ${name.split(":")[0]}.`
  if (name === "*") return "Would allow every host: choose Open instead."
  const wildcard = name.startsWith("*.")
  const base = wildcard ? name.slice(2) : name
  if (base.includes("*")) return "'*' may only stand first, as '*.' before a name (e.g. *.example.com)."
  if (name.length > 253) return "Longer than 253 characters."
  const labels = base.split(".")
  if (labels.some((l) => l === "")) return "Has an empty label (two dots in a row, or a dot at the start)."
  const bad = labels.find((l) => !LABEL.test(l))
  if (bad !== undefined) {
    return bad.length > 63
      ? `The label ${bad.slice(0, 20)}… is longer than 63 characters.`
      : "Only letters, digits, '-' and '.'; no label starts or ends with '-'."
  }
  if (labels.length < 2) {
    return wildcard
      ? "Would allow a whole top-level domain: name at least two labels after '*.' (e.g. *.example.com)."
      : "Not a public host name: name at least two labels (e.g. example.com)."
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? "")) return "Its last label is a number (an IP address in disguise?)."
  return null
}

/** The first line that would be refused, as "line N: why", or null. */
export function hostsProblem(mode: EgressMode, hosts: string[]): string | null {
  if (mode !== "allowlist") return null
  if (hosts.length === 0) return "List at least one host, or choose No internet to allow none."
  for (const [i, host] of hosts.entries()) {
    const problem = hostProblem(host)
    if (problem) return `Line ${i + 1} (${host.length > 60 ? `${host.slice(0, 60)}…` : host}): ${problem}`
  }
  const distinct = new Set(hosts.map((h) => h.toLowerCase().replace(/\.$/, "")))
  if (distinct.size > MAX_HOSTS) return `At most ${MAX_HOSTS} hosts; allow a parent domain with *. or choose Open.`
  return null
}

/** The policy to send: hosts only with `allowlist`. */
export function policyOf(mode: EgressMode, text: string): EgressPolicy {
  return { mode, hosts: mode === "allowlist" ? hostLines(text) : [] }
}

/** One line saying what the policy allows. */
export function describePolicy(policy: EgressPolicy | undefined): string {
  if (!policy || policy.mode === "open") return "Internet: open"
  if (policy.mode === "none") return "Internet: none"
  return policy.hosts.length === 1 ? `Internet: ${policy.hosts[0]} only` : `Internet: ${policy.hosts.length} hosts`
}

export type EgressField = "mode" | "hosts"

/** The server's per-field messages about a policy (`egressPolicy.mode`, `egressPolicy.hosts`). */
export function egressFieldErrors(error: unknown): Partial<Record<EgressField, string>> {
  if (!(error instanceof ApiError)) return {}
  const out: Partial<Record<EgressField, string>> = {}
  for (const field of ["mode", "hosts"] as const) {
    const message = error.fields[`egressPolicy.${field}`]
    if (message) out[field] = message
  }
  return out
}
