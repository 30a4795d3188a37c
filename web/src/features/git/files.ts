// What a changed file's two states (index and worktree) mean to a person.

import type { GitFile, Session } from "@/lib/api/types"

export interface StateLook {
  /** One letter, as `git status --short` shows it. */
  letter: string
  label: string
}

const STATES: Record<string, StateLook> = {
  modified: { letter: "M", label: "modified" },
  "type-changed": { letter: "T", label: "type changed" },
  added: { letter: "A", label: "added" },
  deleted: { letter: "D", label: "deleted" },
  renamed: { letter: "R", label: "renamed" },
  copied: { letter: "C", label: "copied" },
  unmerged: { letter: "U", label: "in conflict" },
  untracked: { letter: "?", label: "untracked" },
}

/** The look of a state, or undefined for `unmodified` (nothing to show). */
export function stateLook(state: string): StateLook | undefined {
  if (state === "unmodified") return undefined
  return STATES[state] ?? { letter: "•", label: state }
}

export function isUntracked(file: GitFile): boolean {
  return file.index === "untracked" || file.worktree === "untracked"
}

/** The file has a change in the index, waiting for the next commit. */
export function hasStaged(file: GitFile): boolean {
  return file.index !== "unmodified" && file.index !== "untracked"
}

/** The file has a change in the worktree that is not staged (untracked files included). */
export function hasUnstaged(file: GitFile): boolean {
  return file.worktree !== "unmodified"
}

/** Which diff to show first: the worktree's, unless only the index has a change. */
export function defaultStaged(file: GitFile): boolean {
  return !hasUnstaged(file) && hasStaged(file)
}

/** `src/app/main.ts` → `["src/app/", "main.ts"]`. */
export function splitPath(path: string): [dir: string, name: string] {
  const cut = path.lastIndexOf("/")
  return cut < 0 ? ["", path] : [path.slice(0, cut + 1), path.slice(cut + 1)]
}

export interface BranchTarget {
  branch: string
  /** The session the panel asks git through: the branch's first active one, else its first. */
  session: Session
  sessions: Session[]
}

/**
 * The branches that have sessions, in the order of their first session. Sessions of one
 * branch share its workspace, so any of them shows the same status; an active one can
 * also commit and push.
 */
export function branchTargets(sessions: Session[]): BranchTarget[] {
  const targets: BranchTarget[] = []
  for (const s of sessions) {
    const known = targets.find((t) => t.branch === s.gitBranch)
    if (!known) {
      targets.push({ branch: s.gitBranch, session: s, sessions: [s] })
      continue
    }
    known.sessions.push(s)
    if (known.session.status !== "active" && s.status === "active") known.session = s
  }
  return targets
}

/** The branch to follow at first: the first active session's, else the first session's. */
export function defaultBranch(sessions: Session[]): string | undefined {
  return (sessions.find((s) => s.status === "active") ?? sessions[0])?.gitBranch
}

/** The first line of a commit message. */
export function subject(message: string): string {
  return message.split("\n", 1)[0] ?? ""
}
