import { beforeEach, describe, expect, it, vi } from "vitest"

import { ApiClient } from "@/lib/api/client"
import { endpoints } from "@/lib/api/endpoints"
import { ApiError, AuthLostError } from "@/lib/api/errors"
import { TOKENS_KEY, readTokens, writeTokens, type StoredTokens } from "@/lib/auth/tokens"

const NOW = 1_700_000_000_000

function json(status: number, body?: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  })
}

const expired = () => json(401, { error: "access token expired; refresh it or sign in again", code: "token_expired" })

interface Call {
  url: string
  method: string
  auth: string | null
  body: unknown
}

/** A fake server: `/api/auth/refresh` rotates tokens (and refuses a used one), other routes
 * answer with `handler` given the bearer token. */
function fakeServer(handler: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = []
  let generation = 1
  let refreshes = 0
  const fetchMock = vi.fn(async (input: string, init?: RequestInit) => {
    const headers = new Headers(init?.headers)
    const call: Call = {
      url: input,
      method: init?.method ?? "GET",
      auth: headers.get("Authorization"),
      body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
    }
    calls.push(call)
    await Promise.resolve()
    if (call.url === "/api/auth/refresh") {
      refreshes++
      const presented = (call.body as { refreshToken: string }).refreshToken
      if (presented !== `refresh-${generation}`) {
        return json(401, { error: "this refresh token was already used", code: "refresh_token_reused" })
      }
      generation++
      return json(200, { accessToken: `access-${generation}`, refreshToken: `refresh-${generation}`, expiresIn: 900 })
    }
    return handler(call)
  })
  return {
    fetch: fetchMock as unknown as typeof fetch,
    calls,
    get refreshes() {
      return refreshes
    },
  }
}

function store(tokens: Partial<StoredTokens> = {}): void {
  writeTokens(
    { accessToken: "access-1", refreshToken: "refresh-1", expiresAt: NOW + 600_000, obtainedAt: NOW - 300_000, ...tokens },
    localStorage,
  )
}

function client(server: ReturnType<typeof fakeServer>, extra: Partial<ConstructorParameters<typeof ApiClient>[0]> = {}) {
  return new ApiClient({ fetch: server.fetch, storage: localStorage, locks: null, now: () => NOW, ...extra })
}

beforeEach(() => {
  localStorage.clear()
})

describe("ApiClient requests", () => {
  it("sends the access token and parses JSON", async () => {
    store()
    const server = fakeServer((call) => json(200, { seen: call.auth }))
    await expect(client(server).request("/api/auth/me")).resolves.toEqual({ seen: "Bearer access-1" })
  })

  it("returns undefined for 204 and the status for raw calls", async () => {
    store()
    const server = fakeServer(() => new Response(null, { status: 204 }))
    const api = client(server)
    await expect(api.request("/api/x", { method: "DELETE" })).resolves.toBeUndefined()
    await expect(api.requestRaw("/api/x", { method: "DELETE" })).resolves.toEqual({ status: 204, data: undefined })
  })

  it("throws the server's error with its fields", async () => {
    store()
    const server = fakeServer(() =>
      json(422, { error: "branch is required", code: "invalid_input", details: { fields: { branch: "branch is required" } } }),
    )
    const error = await client(server)
      .request("/api/sessions", { method: "POST", body: {} })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).fields).toEqual({ branch: "Branch is required" })
  })

  it("turns a network failure into a status-0 error a person can read", async () => {
    store()
    const fetchMock = vi.fn(() => Promise.reject(new TypeError("Failed to fetch")))
    const api = new ApiClient({ fetch: fetchMock as unknown as typeof fetch, storage: localStorage, locks: null, now: () => NOW })
    const error = (await api.request("/api/environments").catch((e: unknown) => e)) as ApiError
    expect(error.status).toBe(0)
    expect(error.isNetwork).toBe(true)
    expect(error.message).toMatch(/Cannot reach the Craftastic server/)
  })

  it("does not send a token where none is wanted", async () => {
    store()
    const server = fakeServer((call) => json(200, { seen: call.auth }))
    await expect(client(server).request("/api/auth/login", { method: "POST", body: {}, auth: false })).resolves.toEqual({
      seen: null,
    })
  })
})

describe("ApiClient refresh", () => {
  it("on 401 refreshes once, stores the rotated tokens and retries once", async () => {
    store()
    const server = fakeServer((call) => (call.auth === "Bearer access-2" ? json(200, { ok: true }) : expired()))
    const api = client(server)
    await expect(api.request("/api/environments")).resolves.toEqual({ ok: true })
    expect(server.refreshes).toBe(1)
    expect(server.calls.map((c) => c.url)).toEqual(["/api/environments", "/api/auth/refresh", "/api/environments"])
    expect(readTokens(localStorage)).toMatchObject({
      accessToken: "access-2",
      refreshToken: "refresh-2",
      expiresAt: NOW + 900_000,
    })
  })

  it("shares one refresh among concurrent requests", async () => {
    store()
    const server = fakeServer((call) => (call.auth === "Bearer access-2" ? json(200, { url: call.url }) : expired()))
    const api = client(server)
    const results = await Promise.all([api.request("/api/a"), api.request("/api/b"), api.request("/api/c")])
    expect(results).toEqual([{ url: "/api/a" }, { url: "/api/b" }, { url: "/api/c" }])
    expect(server.refreshes).toBe(1)
  })

  it("retries only once: a second 401 is the caller's error", async () => {
    store()
    const server = fakeServer(() => expired())
    const api = client(server)
    const error = (await api.request("/api/environments").catch((e: unknown) => e)) as ApiError
    expect(error.status).toBe(401)
    expect(server.refreshes).toBe(1)
    expect(server.calls.filter((c) => c.url === "/api/environments")).toHaveLength(2)
  })

  it("does not refresh for a wrong password", async () => {
    store()
    const server = fakeServer(() => json(401, { error: "current password is wrong", code: "invalid_credentials" }))
    const error = (await client(server)
      .request("/api/auth/change-password", { method: "POST", body: {} })
      .catch((e: unknown) => e)) as ApiError
    expect(error.code).toBe("invalid_credentials")
    expect(server.refreshes).toBe(0)
  })

  it("signs out when the refresh token is refused", async () => {
    store({ refreshToken: "stolen" })
    const server = fakeServer(() => expired())
    const api = client(server)
    const lost = vi.fn()
    const seen = vi.fn()
    api.onAuthLost(lost)
    api.subscribe(seen)
    const error = await api.request("/api/environments").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuthLostError)
    expect(lost).toHaveBeenCalledTimes(1)
    expect(seen).toHaveBeenLastCalledWith(null)
    expect(localStorage.getItem(TOKENS_KEY)).toBeNull()
  })

  it("refreshes before sending when the token is about to expire", async () => {
    store({ expiresAt: NOW + 30_000 })
    const server = fakeServer((call) => json(200, { seen: call.auth }))
    await expect(client(server).request("/api/auth/me")).resolves.toEqual({ seen: "Bearer access-2" })
    expect(server.calls.map((c) => c.url)).toEqual(["/api/auth/refresh", "/api/auth/me"])
  })

  it("uses tokens another tab has just rotated instead of presenting the used refresh token", async () => {
    store()
    const server = fakeServer((call) => (call.auth === "Bearer access-9" ? json(200, { ok: true }) : expired()))
    const api = client(server)
    // Another tab rotated while this request was on its way.
    const first = api.request("/api/environments")
    store({ accessToken: "access-9", refreshToken: "refresh-9", expiresAt: NOW + 900_000, obtainedAt: NOW })
    await expect(first).resolves.toEqual({ ok: true })
    expect(server.refreshes).toBe(0)
  })

  it("refreshes under a Web Lock so that tabs take turns", async () => {
    store()
    const order: string[] = []
    const locks = {
      request: vi.fn(async (name: string, task: () => Promise<unknown>) => {
        order.push(`lock ${name}`)
        const result = await task()
        order.push("unlock")
        return result
      }),
    } as unknown as LockManager
    const server = fakeServer((call) => (call.auth === "Bearer access-2" ? json(200, {}) : expired()))
    await client(server, { locks }).request("/api/x")
    expect(order).toEqual(["lock craftastic.auth.refresh", "unlock"])
  })

  it("keeps using a still-valid token when a due refresh cannot reach the server", async () => {
    store({ expiresAt: NOW + 30_000 })
    let calls = 0
    const fetchMock = vi.fn((input: string) => {
      calls++
      if (input === "/api/auth/refresh") return Promise.reject(new TypeError("offline"))
      return Promise.resolve(json(200, { ok: true }))
    })
    const api = new ApiClient({ fetch: fetchMock as unknown as typeof fetch, storage: localStorage, locks: null, now: () => NOW })
    await expect(api.request("/api/x")).resolves.toEqual({ ok: true })
    expect(calls).toBe(2)
    expect(readTokens(localStorage)?.accessToken).toBe("access-1")
  })

  it("logs out with the current refresh token and forgets the tokens even if the server fails", async () => {
    store()
    const server = fakeServer(() => json(500, { error: "boom", code: "internal" }))
    const api = client(server)
    await api.logout()
    expect(server.calls.at(-1)).toMatchObject({ url: "/api/auth/logout", body: { refreshToken: "refresh-1" } })
    expect(readTokens(localStorage)).toBeNull()
  })
})

describe("endpoints", () => {
  it("reports the reason when deleting a session kept its workspace", async () => {
    store()
    const server = fakeServer((call) =>
      call.url.endsWith("/kept")
        ? json(200, { deleted: true, workspaceKept: true, reason: "the worktree has uncommitted changes" })
        : new Response(null, { status: 204 }),
    )
    const calls = endpoints(client(server))
    await expect(calls.deleteSession("kept")).resolves.toEqual({
      deleted: true,
      workspaceKept: true,
      reason: "the worktree has uncommitted changes",
    })
    await expect(calls.deleteSession("gone")).resolves.toBeNull()
  })

  it("encodes branch names with slashes as one path segment", async () => {
    store()
    const server = fakeServer(() => json(200, { valid: true, exists: false, inUseBySessions: 0 }))
    await endpoints(client(server)).checkBranch("env", "feature/new ui")
    expect(server.calls[0]?.url).toBe("/api/sessions/check-branch/env/feature%2Fnew%20ui")
  })
})
