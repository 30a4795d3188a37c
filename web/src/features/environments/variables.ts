import type { ApiError } from "@/lib/api/errors"
import { sentence } from "@/lib/api/errors"
import type { Variable, VariableInput } from "@/lib/api/types"

/** The server's bounds. */
export const MAX_VARIABLES = 100
export const MAX_NAME_CHARS = 128
export const MAX_VALUE_BYTES = 32 * 1024

/** Names the workspace sets itself, or that change how every shell reads its commands. */
const RESERVED = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "TERM",
  "PWD",
  "OLDPWD",
  "SHLVL",
  "HOSTNAME",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  "IFS",
  "ENV",
  "BASH_ENV",
  "SHELLOPTS",
  "BASHOPTS",
])
const RESERVED_PREFIXES = ["LD_", "TMUX", "CRAFTASTIC_"]

/** One row of the editor. */
export interface VariableRow {
  /** Stable across edits, for React and for errors. */
  key: string
  name: string
  /** What is typed; for a stored secret not being replaced, nothing (its value is kept). */
  value: string
  secret: boolean
  /** The name a stored secret has on the server: its value is kept only under it. */
  storedSecret: string | null
  /** A stored secret whose value is typed anew. */
  replacing: boolean
}

let next = 0
function newKey(): string {
  next += 1
  return `row-${String(next)}`
}

export function emptyRow(): VariableRow {
  return { key: newKey(), name: "", value: "", secret: false, storedSecret: null, replacing: false }
}

export function rowsOf(variables: Variable[]): VariableRow[] {
  return variables.map((v) => ({
    key: newKey(),
    name: v.name,
    value: v.secret ? "" : (v.value ?? ""),
    secret: v.secret,
    storedSecret: v.secret ? v.name : null,
    replacing: false,
  }))
}

/** A stored secret kept as it is: sent without a value. */
export function keepsStoredValue(row: VariableRow): boolean {
  return row.secret && row.storedSecret !== null && !row.replacing
}

/** What is wrong with a name as typed, or null (the server's rules). */
export function nameProblem(raw: string): string | null {
  const name = raw.trim()
  if (name === "") return "A name is required."
  if (name.length > MAX_NAME_CHARS) return `At most ${String(MAX_NAME_CHARS)} characters.`
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    return "Letters, digits and _, not starting with a digit (e.g. DATABASE_URL)."
  }
  if (RESERVED.has(name)) return `${name} is set by the workspace itself and cannot be set here.`
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p))
  if (prefix) return `Names starting with ${prefix} cannot be set here.`
  return null
}

/** What is wrong with a value as typed, or null. */
export function valueProblem(value: string): string | null {
  if (value.includes("\0")) return "A value cannot hold NUL bytes."
  if (new TextEncoder().encode(value).length > MAX_VALUE_BYTES) {
    return `At most ${String(MAX_VALUE_BYTES / 1024)} KiB.`
  }
  return null
}

export interface RowProblems {
  name?: string
  value?: string
}

/** Every row's problems, by row key: bad names, names given twice, bad values, and a stored
 * secret renamed without a new value (its value is kept only under its name). */
export function rowProblems(rows: VariableRow[]): Record<string, RowProblems> {
  const out: Record<string, RowProblems> = {}
  const seen = new Map<string, string>()
  for (const row of rows) {
    const problems: RowProblems = {}
    const name = row.name.trim()
    problems.name = nameProblem(row.name) ?? undefined
    if (!problems.name) {
      const first = seen.get(name)
      if (first !== undefined) problems.name = `${name} is already in the list.`
      else seen.set(name, row.key)
    }
    if (keepsStoredValue(row)) {
      if (row.storedSecret !== name && !problems.name) {
        problems.value = "Renamed: replace its value too, which is kept only under its old name."
      }
    } else {
      problems.value = valueProblem(row.value) ?? undefined
    }
    if (problems.name || problems.value) out[row.key] = problems
  }
  return out
}

/** What the server is sent. */
export function toInput(rows: VariableRow[]): VariableInput[] {
  return rows.map((row) =>
    keepsStoredValue(row)
      ? { name: row.name.trim(), secret: true }
      : { name: row.name.trim(), value: row.value, secret: row.secret },
  )
}

/** The server's 422 spread over the rows (`variables[2].name` is the third row's name), and
 * what belongs to no row (the count, the total size). */
export function serverProblems(
  error: ApiError,
  rows: VariableRow[],
): { rows: Record<string, RowProblems>; form: string | null } {
  const out: Record<string, RowProblems> = {}
  const rest: string[] = []
  for (const [field, message] of Object.entries(error.fields)) {
    const m = /^variables\[(\d+)\]\.(name|value)$/.exec(field)
    const row = m ? rows[Number(m[1])] : undefined
    if (m && row) {
      const text = sentence(message.replace(/^variables\[\d+\]\.(name|value): /i, ""))
      const which: keyof RowProblems = m[2] === "name" ? "name" : "value"
      out[row.key] = { ...out[row.key], [which]: text }
    } else {
      rest.push(sentence(message.replace(/^variables: /i, "")))
    }
  }
  return { rows: out, form: rest.length > 0 ? rest.join(" ") : null }
}
