import { beforeEach, describe, expect, it, vi } from "vitest"

import { ApiClient } from "@/lib/api/client"
import { endpoints } from "@/lib/api/endpoints"
import { ApiError } from "@/lib/api/errors"
import { writeTokens } from "@/lib/auth/tokens"

const NOW = 1_700_000_000_000

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } })
}

/** The endpoints over a fetch that answers `answer` and records what was asked. */
function calls(answer: (url: string, init: RequestInit | undefined) => Response) {
  const seen: { url: string; method: string; body: unknown }[] = []
  const fetchMock = vi.fn((url: string, init?: RequestInit) => {
    seen.push({
      url,
      method: init?.method ?? "GET",
      body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
    })
    return Promise.resolve(answer(url, init))
  })
  const client = new ApiClient({ fetch: fetchMock as unknown as typeof fetch, storage: localStorage, locks: null, now: () => NOW })
  return { api: endpoints(client), seen }
}

const failure = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as ApiError)

beforeEach(() => {
  localStorage.clear()
  writeTokens({ accessToken: "a", refreshToken: "r", expiresAt: NOW + 600_000, obtainedAt: NOW }, localStorage)
})

describe("git endpoints", () => {
  it("asks for one file's diff with the path as a query value", async () => {
    const { api, seen } = calls(() => json(200, { diff: "", truncated: false, binary: false }))
    await api.gitDiff("s1", { file: "src/my file.ts", staged: true })
    await api.gitDiff("s1", { staged: false })
    expect(seen.map((c) => c.url)).toEqual([
      "/api/git/diff/s1?file=src%2Fmy+file.ts&staged=true",
      "/api/git/diff/s1?staged=false",
    ])
  })

  it("pages the log with limit and offset", async () => {
    const { api, seen } = calls(() => json(200, { commits: [], hasMore: false }))
    await expect(api.gitLog("s1", { limit: 20, offset: 40 })).resolves.toEqual({ commits: [], hasMore: false })
    expect(seen[0]?.url).toBe("/api/git/log/s1?limit=20&offset=40")
  })

  it("commits the message and the files, and turns 409 nothing_to_commit into its sentence", async () => {
    const { api, seen } = calls(() =>
      json(409, { error: "nothing to commit: the worktree has no changes", code: "nothing_to_commit" }),
    )
    const error = await failure(api.gitCommit("s1", { message: "Add hello", files: ["hello.txt"] }))
    expect(seen[0]).toEqual({ url: "/api/git/commit/s1", method: "POST", body: { message: "Add hello", files: ["hello.txt"] } })
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 409, code: "nothing_to_commit", message: "Nothing to commit: the worktree has no changes" })
  })

  it("keeps git's reason when a push is rejected, and says when the remote is out of reach", async () => {
    const reason =
      "the remote has commits that this branch lacks (fetch first); run git pull --rebase in a terminal, then push again"
    const rejected = calls(() => json(409, { error: reason, code: "push_rejected" }))
    const error = await failure(rejected.api.gitPush("s1"))
    expect(rejected.seen[0]).toMatchObject({ url: "/api/git/push/s1", method: "POST", body: {} })
    expect(error).toMatchObject({ status: 409, code: "push_rejected" })
    expect(error?.message).toContain("git pull --rebase")

    const unreachable = calls(() => new Response("bad gateway", { status: 502 }))
    expect((await failure(unreachable.api.gitPush("s1")))?.message).toMatch(/outside service failed/)
  })
})

describe("GitHub endpoints", () => {
  it("shows the server's sentence when GitHub is not configured (503)", async () => {
    const { api, seen } = calls(() =>
      json(503, { error: "GitHub is not configured on this server (set GITHUB_CLIENT_ID)", code: "unavailable" }),
    )
    const error = await failure(api.githubInitiate())
    expect(seen[0]).toMatchObject({ url: "/api/auth/github/initiate", method: "POST" })
    expect(error).toMatchObject({ status: 503, message: "GitHub is not configured on this server (set GITHUB_CLIENT_ID)" })
  })

  it("polls with the flow id and lists repositories by page", async () => {
    const { api, seen } = calls((url) =>
      url.includes("poll") ? json(200, { status: "pending", interval: 5 }) : json(200, { repositories: [], hasMore: false }),
    )
    await expect(api.githubPoll("flow-1")).resolves.toEqual({ status: "pending", interval: 5 })
    await api.githubRepositories({ page: 2, perPage: 30 })
    expect(seen.map((c) => [c.method, c.url, c.body])).toEqual([
      ["POST", "/api/auth/github/poll", { flowId: "flow-1" }],
      ["GET", "/api/auth/github/repos?page=2&perPage=30", undefined],
    ])
  })

  it("reports github_not_linked for the repositories of an unlinked account", async () => {
    const { api } = calls(() => json(409, { error: "link your GitHub account first", code: "github_not_linked" }))
    expect(await failure(api.githubRepositories({ page: 1, perPage: 30 }))).toMatchObject({
      status: 409,
      code: "github_not_linked",
      message: "Link your GitHub account first",
    })
  })

  it("unlinks with DELETE and reads 204 as done", async () => {
    const { api, seen } = calls(() => new Response(null, { status: 204 }))
    await expect(api.githubDisconnect()).resolves.toBeUndefined()
    expect(seen[0]).toMatchObject({ url: "/api/auth/github/disconnect", method: "DELETE" })
  })
})

describe("agent endpoints", () => {
  const agent = {
    id: "a1",
    userId: "u",
    name: "claude",
    type: "claude-code",
    hasCredential: true,
    credentialType: "api-key",
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
  }

  it("lists, creates with a credential, and removes a credential with null", async () => {
    const { api, seen } = calls((_url, init) =>
      init?.method === undefined || init.method === "GET" ? json(200, { agents: [agent] }) : json(201, agent),
    )
    await expect(api.listAgents()).resolves.toEqual([agent])
    await api.createAgent({ name: "claude", type: "claude-code", credential: { type: "api-key", value: "sk-1" } })
    await api.updateAgent("a1", { credential: null })
    await api.updateAgent("a/1", { name: "c2" })
    expect(seen.map((c) => [c.method, c.url, c.body])).toEqual([
      ["GET", "/api/agents", undefined],
      ["POST", "/api/agents", { name: "claude", type: "claude-code", credential: { type: "api-key", value: "sk-1" } }],
      ["PATCH", "/api/agents/a1", { credential: null }],
      ["PATCH", "/api/agents/a%2F1", { name: "c2" }],
    ])
  })

  it("deletes with 204, and keeps the per-field messages of a 422", async () => {
    const deleted = calls(() => new Response(null, { status: 204 }))
    await expect(deleted.api.deleteAgent("a1")).resolves.toBeUndefined()
    expect(deleted.seen[0]).toMatchObject({ method: "DELETE", url: "/api/agents/a1" })

    const invalid = calls(() =>
      json(422, {
        error: "cursor-cli takes only an api-key credential",
        code: "invalid_input",
        details: { fields: { "credential.type": "cursor-cli takes only an api-key credential" } },
      }),
    )
    const error = await failure(
      invalid.api.createAgent({ name: "c", type: "cursor-cli", credential: { type: "oauth", value: "{}" } }),
    )
    expect(error?.fields).toEqual({ "credential.type": "Cursor-cli takes only an api-key credential" })
  })
})

describe("deployment endpoints", () => {
  it("deploys, reads a status and lists an environment's deployments", async () => {
    const { api, seen } = calls((url) => (url.includes("/list/") ? json(200, { deployments: [] }) : json(202, { id: "d1" })))
    await api.deploy({ environmentId: "env-1", appId: "app1", branch: "feature" })
    await api.deploymentStatus("d1")
    await expect(api.listDeployments("env-1")).resolves.toEqual([])
    expect(seen.map((c) => [c.method, c.url, c.body])).toEqual([
      ["POST", "/api/deployment/deploy", { environmentId: "env-1", appId: "app1", branch: "feature" }],
      ["GET", "/api/deployment/status/d1", undefined],
      ["GET", "/api/deployment/list/env-1", undefined],
    ])
  })

  it("says when Coolify is not configured (503) and what Coolify answered (502)", async () => {
    const off = calls(() =>
      json(503, { error: "deployments are not configured on this server; an admin must set COOLIFY_API_URL", code: "unavailable" }),
    )
    expect(await failure(off.api.listDeployments("env-1"))).toMatchObject({
      status: 503,
      message: "Deployments are not configured on this server; an admin must set COOLIFY_API_URL",
    })
    const refused = calls(() =>
      json(502, {
        error: "Coolify refused the request while reading the application with status 404: Application not found.",
        code: "upstream_failed",
      }),
    )
    expect((await failure(refused.api.deploy({ environmentId: "e", appId: "x" })))?.message).toContain(
      "Application not found.",
    )
  })
})

describe("session recording", () => {
  it("answers the asciicast text as it is, and a stopped workspace as its 409", async () => {
    const cast = '{"version":2,"width":80,"height":24,"timestamp":1}\n[0,"o","hi"]\n'
    const ok = calls(() => new Response(cast, { status: 200, headers: { "Content-Type": "application/x-asciicast" } }))
    await expect(ok.api.sessionRecording("s 1")).resolves.toBe(cast)
    expect(ok.seen[0]).toMatchObject({ url: "/api/sessions/s%201/recording", method: "GET" })

    const stopped = calls(() => json(409, { error: "the workspace of main is not running", code: "not_running" }))
    expect(await failure(stopped.api.sessionRecording("s1"))).toMatchObject({ status: 409, code: "not_running" })
  })
})
