import { QueryClient } from "@tanstack/react-query"
import { describe, expect, it } from "vitest"

import type { Deployment, Environment, Session } from "@/lib/api/types"
import { applyEvent } from "@/lib/events/cache"
import { queryKeys } from "@/lib/queries"
import { DEFAULT_SIZE } from "@/test/fixtures"

function session(id: string, gitBranch = "main"): Session {
  return {
    id,
    environmentId: "e1",
    name: id,
    tmuxSessionName: `cs-${id}`,
    workingDirectory: "/workspace",
    status: "active",
    sessionType: "terminal",
    gitBranch,
    variablesOutdated: false,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    activity: { state: "idle", since: "2026-01-01T00:00:00Z" },
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
    workspaces: [{ id: "w1", branch: "main", status: "running" }],
    sessions,
  }
}

/** A client holding two environments, `e1` (with sessions s1 on main and s2 on feature) also
 * in its own entry; each query has a finished fetch, so invalidation shows. */
function client() {
  const c = new QueryClient()
  const e1 = environment("e1", [session("s1"), session("s2", "feature")])
  c.setQueryData(queryKeys.environments, [e1, environment("e2", [])])
  c.setQueryData(queryKeys.environment("e1"), e1)
  c.setQueryData(queryKeys.gitStatus("s1"), { clean: true })
  c.setQueryData(queryKeys.gitStatus("s2"), { clean: true })
  return c
}

const invalid = (c: QueryClient, key: readonly unknown[]) => c.getQueryState(key)?.isInvalidated ?? false
const sessionsIn = (c: QueryClient) => c.getQueryData<Environment>(queryKeys.environment("e1"))?.sessions ?? []
const listed = (c: QueryClient) => c.getQueryData<Environment[]>(queryKeys.environments) ?? []

const working = { state: "working", since: "2026-01-02T00:00:00Z", detail: "sleep" }

describe("applyEvent", () => {
  it("writes a session's activity into the list and the environment, without reading them again", () => {
    const c = client()
    applyEvent(c, { type: "session.activity", sessionId: "s1", environmentId: "e1", activity: working })
    expect(sessionsIn(c).find((s) => s.id === "s1")?.activity).toEqual(working)
    expect(listed(c)[0]?.sessions.find((s) => s.id === "s1")?.activity).toEqual(working)
    expect(sessionsIn(c).find((s) => s.id === "s2")?.activity.state).toBe("idle")
    expect(invalid(c, queryKeys.environments)).toBe(false)
    expect(invalid(c, queryKeys.environment("e1"))).toBe(false)
  })

  it("reads the environment again for a session it has not seen", () => {
    const c = client()
    applyEvent(c, { type: "session.activity", sessionId: "s9", environmentId: "e1", activity: working })
    expect(invalid(c, queryKeys.environment("e1"))).toBe(true)
    expect(invalid(c, queryKeys.environments)).toBe(true)
  })

  it("reads git again on the branch of a session that stopped working, not while it works", () => {
    const c = client()
    applyEvent(c, { type: "session.activity", sessionId: "s1", environmentId: "e1", activity: working })
    expect(invalid(c, queryKeys.gitStatus("s1"))).toBe(false)
    applyEvent(c, {
      type: "session.activity",
      sessionId: "s1",
      environmentId: "e1",
      activity: { state: "idle", since: "2026-01-02T00:01:00Z" },
    })
    expect(invalid(c, queryKeys.gitStatus("s1"))).toBe(true)
    expect(invalid(c, queryKeys.gitStatus("s2"))).toBe(false)
  })

  it("writes a session's status", () => {
    const c = client()
    applyEvent(c, { type: "session.status", sessionId: "s2", environmentId: "e1", status: "dead" })
    expect(sessionsIn(c).find((s) => s.id === "s2")?.status).toBe("dead")
    expect(listed(c)[0]?.sessions.find((s) => s.id === "s2")?.status).toBe("dead")
  })

  it("writes an environment's status and error, then reads it again for its workspaces", () => {
    const c = client()
    applyEvent(c, { type: "environment.status", environmentId: "e1", status: "error", error: "clone failed" })
    expect(c.getQueryData<Environment>(queryKeys.environment("e1"))).toMatchObject({ status: "error", error: "clone failed" })
    expect(listed(c).map((e) => e.status)).toEqual(["error", "running"])
    expect(invalid(c, queryKeys.environment("e1"))).toBe(true)
    expect(invalid(c, queryKeys.environments)).toBe(true)
  })

  it("writes a workspace's status", () => {
    const c = client()
    applyEvent(c, { type: "workspace.status", workspaceId: "w1", environmentId: "e1", status: "stopped" })
    expect(c.getQueryData<Environment>(queryKeys.environment("e1"))?.workspaces[0]?.status).toBe("stopped")
    expect(invalid(c, queryKeys.environment("e1"))).toBe(true)
  })

  it("writes a deployment's status and reads the list again for its details", () => {
    const c = client()
    const deployment: Deployment = {
      id: "d1",
      environmentId: "e1",
      appId: "app",
      status: "queued",
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z",
      metadata: {},
    }
    c.setQueryData(queryKeys.deploymentList("e1"), [deployment])
    applyEvent(c, { type: "deployment.status", deploymentId: "d1", environmentId: "e1", status: "in_progress" })
    expect(c.getQueryData<Deployment[]>(queryKeys.deploymentList("e1"))?.[0]?.status).toBe("in_progress")
    expect(invalid(c, queryKeys.deploymentList("e1"))).toBe(true)
  })

  it("leaves the cache as it is for a notification", () => {
    const c = client()
    const before = c.getQueryData<Environment>(queryKeys.environment("e1"))
    applyEvent(c, {
      type: "notification",
      notice: { sessionId: "s1", environmentId: "e1", state: "waiting", title: "s1 waits for you", text: "s1 waits" },
    })
    expect(c.getQueryData<Environment>(queryKeys.environment("e1"))).toBe(before)
    expect(invalid(c, queryKeys.environments)).toBe(false)
    expect(invalid(c, queryKeys.gitStatus("s1"))).toBe(false)
  })

  it("reads everything again on resync", () => {
    const c = client()
    applyEvent(c, { type: "resync" })
    expect(invalid(c, queryKeys.environments)).toBe(true)
    expect(invalid(c, queryKeys.environment("e1"))).toBe(true)
    expect(invalid(c, queryKeys.gitStatus("s1"))).toBe(true)
  })
})
