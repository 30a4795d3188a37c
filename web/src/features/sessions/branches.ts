import type { FieldStatus } from "@/components/Field"
import { sentence } from "@/lib/api/errors"
import type { BranchCheck, Environment, Session, Workspace } from "@/lib/api/types"
import { pluralize } from "@/lib/format"

export interface BranchGroup {
  name: string
  isDefault: boolean
  workspace: Workspace | undefined
  sessions: Session[]
}

/** The environment's branches: the default one first, then the others by name, each with
 * its workspace (if any) and its sessions (oldest first, as the server lists them). */
export function branchesOf(env: Pick<Environment, "branch" | "workspaces" | "sessions">): BranchGroup[] {
  const names = new Set<string>([env.branch])
  for (const w of env.workspaces) names.add(w.branch)
  for (const s of env.sessions) names.add(s.gitBranch)
  return [...names]
    .sort((a, b) => (a === env.branch ? -1 : b === env.branch ? 1 : a.localeCompare(b)))
    .map((name) => ({
      name,
      isDefault: name === env.branch,
      workspace: env.workspaces.find((w) => w.branch === name),
      sessions: env.sessions.filter((s) => s.gitBranch === name),
    }))
}

/** The line under the branch field: whether the branch exists or will be made. */
export function branchStatus(check: BranchCheck, defaultBranch: string): FieldStatus {
  if (!check.valid) return { kind: "error", text: sentence(check.reason ?? "This is not a valid branch name") }
  const use =
    check.inUseBySessions > 0
      ? ` · used by ${pluralize(check.inUseBySessions, "session")}, which share its workspace`
      : ""
  return check.exists
    ? { kind: "ok", text: `Branch exists${use}` }
    : { kind: "info", text: `New branch: will be created from ${defaultBranch}${use}` }
}
