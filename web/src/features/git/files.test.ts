import { describe, expect, it } from "vitest"

import type { GitFile, Session } from "@/lib/api/types"
import { branchTargets, defaultBranch, defaultStaged, hasStaged, hasUnstaged, splitPath, stateLook, subject } from "@/features/git/files"

const file = (index: string, worktree: string): GitFile => ({ path: "a.txt", originalPath: null, index, worktree })

function session(id: string, gitBranch: string, status: string): Session {
  return {
    id,
    environmentId: "env",
    name: `s-${id}`,
    tmuxSessionName: id,
    workingDirectory: "/workspace",
    status,
    sessionType: "terminal",
    gitBranch,
    variablesOutdated: false,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    activity: { state: "idle", since: "2026-01-01T00:00:00Z" },
  }
}

describe("file states", () => {
  it("says which side has a change", () => {
    expect([hasStaged(file("modified", "unmodified")), hasUnstaged(file("modified", "unmodified"))]).toEqual([true, false])
    expect([hasStaged(file("untracked", "untracked")), hasUnstaged(file("untracked", "untracked"))]).toEqual([false, true])
    expect([hasStaged(file("added", "modified")), hasUnstaged(file("added", "modified"))]).toEqual([true, true])
  })

  it("opens the staged diff only when nothing else changed", () => {
    expect(defaultStaged(file("modified", "unmodified"))).toBe(true)
    expect(defaultStaged(file("modified", "modified"))).toBe(false)
    expect(defaultStaged(file("untracked", "untracked"))).toBe(false)
  })

  it("gives each state a letter, and nothing for unmodified", () => {
    expect(stateLook("unmodified")).toBeUndefined()
    expect(stateLook("renamed")).toEqual({ letter: "R", label: "renamed" })
    expect(stateLook("untracked")?.letter).toBe("?")
    expect(stateLook("something-new")).toEqual({ letter: "•", label: "something-new" })
  })

  it("splits paths and messages", () => {
    expect(splitPath("src/app/main.ts")).toEqual(["src/app/", "main.ts"])
    expect(splitPath("README.md")).toEqual(["", "README.md"])
    expect(subject("Fix it\n\nBecause.")).toBe("Fix it")
  })
})

describe("branchTargets", () => {
  it("groups sessions by branch and asks git through an active one", () => {
    const sessions = [session("1", "main", "dead"), session("2", "feature", "active"), session("3", "main", "active")]
    const targets = branchTargets(sessions)
    expect(targets.map((t) => [t.branch, t.session.id, t.sessions.length])).toEqual([
      ["main", "3", 2],
      ["feature", "2", 1],
    ])
  })

  it("follows the first active session's branch at first", () => {
    expect(defaultBranch([session("1", "main", "dead"), session("2", "feature", "active")])).toBe("feature")
    expect(defaultBranch([session("1", "main", "inactive")])).toBe("main")
    expect(defaultBranch([])).toBeUndefined()
  })
})
