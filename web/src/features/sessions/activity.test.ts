import { describe, expect, it } from "vitest"

import type { Environment, Session } from "@/lib/api/types"
import {
  attentionGroups,
  durationSince,
  needsYouCount,
  sessionsForAttention,
} from "@/features/sessions/activity"
import { DEFAULT_SIZE } from "@/test/fixtures"

function session(name: string, state: string, since: string, environmentId = "e1"): Session {
  return {
    id: `${environmentId}-${name}`,
    environmentId,
    name,
    tmuxSessionName: `cs-${name}`,
    workingDirectory: "/workspace",
    status: "active",
    sessionType: "terminal",
    gitBranch: "main",
    variablesOutdated: false,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    activity: { state, since },
  }
}

function environment(id: string, sessions: Session[]): Environment {
  return {
    id,
    userId: "u1",
    name: id,
    branch: "main",
    status: "running",
    egressPolicy: { mode: "open", hosts: [] },
    idleStopMinutes: 60,
    size: DEFAULT_SIZE,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    workspaces: [],
    sessions,
  }
}

const at = (minute: number) => `2026-01-01T10:${String(minute).padStart(2, "0")}:00Z`

const environments = [
  environment("alpha", [
    session("idle-old", "idle", at(1)),
    session("working-new", "working", at(9)),
    session("waiting", "waiting", at(5)),
    session("exited", "exited", at(8)),
  ]),
  environment("beta", [
    session("idle-new", "idle", at(7), "beta"),
    session("permission", "permission", at(6), "beta"),
    session("working-old", "working", at(2), "beta"),
    session("someday", "napping", at(9), "beta"),
    session("unknown", "unknown", at(3), "beta"),
  ]),
]

describe("the attention view's order", () => {
  it("puts approvals, then input, then work first, longest waiting first; then the rest by state, latest first", () => {
    expect(sessionsForAttention(environments).map((x) => x.session.name)).toEqual([
      "permission",
      "waiting",
      "working-old",
      "working-new",
      "idle-new",
      "idle-old",
      "exited",
      "unknown",
      "someday",
    ])
  })

  it("keeps the order of sessions that changed at the same time", () => {
    const same = [environment("b", [session("y", "idle", at(1))]), environment("a", [session("z", "idle", at(1)), session("x", "idle", at(1))])]
    expect(sessionsForAttention(same).map((x) => `${x.environment.name}/${x.session.name}`)).toEqual(["a/x", "a/z", "b/y"])
  })

  it("sections: needs you, working, the rest; empty ones left out", () => {
    const groups = attentionGroups(sessionsForAttention(environments))
    expect(groups.map((g) => [g.key, g.items.length])).toEqual([
      ["needs-you", 2],
      ["working", 2],
      ["other", 5],
    ])
    expect(attentionGroups(sessionsForAttention([environment("a", [session("x", "idle", at(1))])])).map((g) => g.key)).toEqual([
      "other",
    ])
  })

  it("counts the sessions that need the user", () => {
    expect(needsYouCount(environments)).toBe(2)
    expect(needsYouCount(undefined)).toBe(0)
  })
})

describe("durationSince", () => {
  const now = Date.parse("2026-01-01T12:00:00Z")
  it("says how long, in the largest fitting unit", () => {
    expect(durationSince("2026-01-01T11:59:48Z", now)).toBe("for 12 s")
    expect(durationSince("2026-01-01T11:57:00Z", now)).toBe("for 3 min")
    expect(durationSince("2026-01-01T09:30:00Z", now)).toBe("for 2 h")
    expect(durationSince("2025-12-28T12:00:00Z", now)).toBe("for 4 days")
  })
  it("never says a negative time when the browser's clock is behind", () => {
    expect(durationSince("2026-01-01T12:00:05Z", now)).toBe("for 0 s")
    expect(durationSince("garbage", now)).toBe("for 0 s")
  })
})
