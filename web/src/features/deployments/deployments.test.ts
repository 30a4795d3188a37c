import { describe, expect, it } from "vitest"

import type { Deployment } from "@/lib/api/types"
import {
  appIdProblem,
  formatDuration,
  isFinal,
  rememberAppId,
  rememberedAppId,
  statusLook,
  withDeployment,
} from "@/features/deployments/deployments"

const deployment = (id: string, status = "queued"): Deployment => ({
  id,
  environmentId: "env-1",
  appId: "app1",
  branch: "main",
  status,
  coolifyDeploymentId: `dep-${id}`,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  metadata: {},
})

describe("deployments", () => {
  it("treats only queued and in_progress as under way", () => {
    expect(["queued", "in_progress"].map(isFinal)).toEqual([false, false])
    expect(["finished", "failed", "cancelled", "something-new"].map(isFinal)).toEqual([true, true, true, true])
    expect(statusLook("in_progress")).toMatchObject({ label: "In progress", busy: true })
    expect(statusLook("later")).toMatchObject({ label: "later", busy: false })
  })

  it("checks an application id as the server does", () => {
    expect(appIdProblem(" ro04ok80o8oc4kkcco8kow8s ")).toBeNull()
    expect(appIdProblem("")).toMatch(/Enter the uuid/)
    for (const bad of ["a-b", "../apps", "a?b", "x".repeat(65)]) expect(appIdProblem(bad)).toMatch(/letters and digits/)
  })

  it("remembers the application per environment", () => {
    expect(rememberedAppId("env-1")).toBe("")
    rememberAppId("env-1", "abc123")
    rememberAppId("env-2", "def456")
    expect(rememberedAppId("env-1")).toBe("abc123")
    expect(rememberedAppId("env-2")).toBe("def456")
  })

  it("puts a new deployment first and replaces a known one in place", () => {
    const list = [deployment("b"), deployment("a", "finished")]
    expect(withDeployment(list, deployment("c")).map((d) => d.id)).toEqual(["c", "b", "a"])
    const updated = withDeployment(list, deployment("b", "in_progress"))
    expect(updated.map((d) => [d.id, d.status])).toEqual([
      ["b", "in_progress"],
      ["a", "finished"],
    ])
    expect(withDeployment(undefined, deployment("x")).map((d) => d.id)).toEqual(["x"])
  })

  it("formats durations", () => {
    expect([0, 42, 60, 185, 3_725].map(formatDuration)).toEqual(["0 s", "42 s", "1 min", "3 min 5 s", "1 h 2 min"])
  })
})
