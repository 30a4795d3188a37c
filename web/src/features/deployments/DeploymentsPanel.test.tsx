import { act, screen, waitFor, within } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { afterEach, describe, expect, it, vi } from "vitest"

import type { Deployment, Environment } from "@/lib/api/types"
import { DeploymentsPanel } from "@/features/deployments/DeploymentsPanel"
import { rememberAppId, rememberedAppId } from "@/features/deployments/deployments"
import { json, mockFetch, renderApp, signIn, type Route } from "@/test/render"
import { DEFAULT_SIZE } from "@/test/fixtures"

afterEach(() => {
  vi.useRealTimers()
})

const environment: Environment = {
  id: "env-1",
  userId: "u",
  name: "shop",
  repositoryUrl: null,
  branch: "main",
  status: "running",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  egressPolicy: { mode: "open", hosts: [] },
  idleStopMinutes: 60,
  size: DEFAULT_SIZE,
  workspaces: [],
  sessions: [],
}

const deployment = (status: string, overrides: Partial<Deployment> = {}): Deployment => ({
  id: "d1",
  environmentId: "env-1",
  appId: "app1",
  branch: "main",
  status,
  coolifyDeploymentId: "dep00001abc",
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  metadata: { coolifyMessage: "Application app-app1 deployment queued." },
  ...overrides,
})

const binding = (appId: string) => ({ environmentId: "env-1", appId, createdBy: "root", createdAt: "2026-01-01T00:00:00Z" })

const person = (isAdmin: boolean) => ({
  id: isAdmin ? "root" : "u",
  email: "ada@example.com",
  name: "Ada",
  isAdmin,
  createdAt: "2026-01-01T00:00:00Z",
})

/** The signed-in user (an admin or not) and the applications bound to env-1, then `route`. */
function server(route: Route, { bound = ["app1"], admin = false }: { bound?: string[]; admin?: boolean } = {}) {
  let bindings = bound.map(binding)
  return mockFetch((url, init) => {
    if (url === "/api/auth/me") return json(200, person(admin))
    if (url === "/api/environments/env-1/deployment-bindings") return json(200, { bindings })
    const one = /^\/api\/environments\/env-1\/deployment-bindings\/(.+)$/.exec(url)
    if (one && init?.method === "PUT") {
      const made = binding(decodeURIComponent(one[1]!))
      bindings = [...bindings, made]
      return json(201, made)
    }
    if (one && init?.method === "DELETE") {
      bindings = bindings.filter((b) => b.appId !== one[1])
      return new Response(null, { status: 204 })
    }
    return route(url, init)
  })
}

function renderPanel() {
  signIn()
  renderApp(<DeploymentsPanel environment={environment} />)
}

const NOT_CONFIGURED =
  "deployments are not configured on this server; an admin must set COOLIFY_API_URL (Coolify's address) and COOLIFY_API_TOKEN (a Coolify API token with the deploy permission)"

describe("DeploymentsPanel", () => {
  it("shows the server's sentence and a disabled form when Coolify is not configured", async () => {
    const fetchMock = server((url) =>
      url.startsWith("/api/deployment/") ? json(503, { error: NOT_CONFIGURED, code: "unavailable" }) : undefined,
    )
    renderPanel()
    expect(await screen.findByTestId("deploy-unavailable")).toHaveTextContent(
      "Deployments are not configured on this server; an admin must set COOLIFY_API_URL",
    )
    expect(await screen.findByTestId("deploy-app-id")).toBeDisabled()
    expect(screen.getByTestId("deploy-button")).toBeDisabled()
    expect(screen.queryByTestId("deployment-list")).not.toBeInTheDocument()
    // 503 is not asked again.
    expect(fetchMock.mock.calls.filter(([url]) => url === "/api/deployment/list/env-1")).toHaveLength(1)
  })

  it("deploys to the remembered application and follows the deployment every 2 s until it ends", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    rememberAppId("env-1", "app1")
    const posted: unknown[] = []
    const statuses = ["in_progress", "finished"]
    let deployed = false
    let statusCalls = 0
    server(
      (url, init) => {
        if (url === "/api/deployment/list/env-1") return json(200, { deployments: deployed ? [deployment("queued")] : [] })
        if (url === "/api/deployment/deploy" && init?.method === "POST") {
          posted.push(JSON.parse(init.body as string))
          deployed = true
          return json(202, deployment("queued"))
        }
        if (url === "/api/deployment/status/d1") {
          statusCalls += 1
          const status = statuses.shift() ?? "finished"
          return json(200, deployment(status, status === "finished" ? { metadata: { durationSeconds: 75, commit: "9fceb02d0ae5" } } : {}))
        }
        return undefined
      },
      { bound: ["app0", "app1"] },
    )
    renderPanel()
    const user = userEvent.setup({ advanceTimers: (ms) => vi.advanceTimersByTime(ms) })
    expect(await screen.findByTestId("deployments-empty")).toBeInTheDocument()
    expect(await screen.findByTestId("deploy-app-id")).toHaveValue("app1")
    await user.click(screen.getByTestId("deploy-button"))

    const row = await screen.findByTestId("deployment-row")
    expect(posted).toEqual([{ environmentId: "env-1", appId: "app1" }])
    expect(within(row).getByTestId("deployment-coolify-id")).toHaveTextContent("dep00001abc")
    expect(within(row).getByTestId("deployment-branch")).toHaveTextContent("main")

    await waitFor(() => {
      expect(screen.getByTestId("deployment-row")).toHaveAttribute("data-status", "in_progress")
    })
    const afterFirst = statusCalls
    await act(() => vi.advanceTimersByTimeAsync(2_100))
    await waitFor(() => {
      expect(screen.getByTestId("deployment-row")).toHaveAttribute("data-status", "finished")
    })
    expect(statusCalls).toBe(afterFirst + 1)
    expect(screen.getByTestId("deployment-status")).toHaveTextContent("Finished")
    expect(screen.getByTestId("deployment-row")).toHaveTextContent("1 min 15 s")
    // A finished deployment is not asked about again.
    await act(() => vi.advanceTimersByTimeAsync(6_000))
    expect(statusCalls).toBe(afterFirst + 1)
  })

  it("offers only the bound applications, sends the branch and force, and remembers the application", async () => {
    rememberAppId("env-1", "gone")
    const posted: unknown[] = []
    server(
      (url, init) => {
        if (url === "/api/deployment/list/env-1") return json(200, { deployments: [] })
        if (url === "/api/deployment/deploy") {
          posted.push(JSON.parse(init?.body as string))
          return json(202, deployment("finished", { branch: "feature" }))
        }
        return undefined
      },
      { bound: ["app1", "newapp2"] },
    )
    renderPanel()
    const user = userEvent.setup()
    await screen.findByTestId("deployments-empty")
    const picker = await screen.findByTestId("deploy-app-id")
    expect(picker).toHaveValue("app1")
    expect(within(picker).getAllByRole("option").map((o) => o.textContent)).toEqual(["app1", "newapp2"])
    await user.selectOptions(picker, "newapp2")
    await user.type(screen.getByTestId("deploy-branch"), "feature")
    await user.click(screen.getByTestId("deploy-force"))
    await user.click(screen.getByTestId("deploy-button"))
    await waitFor(() => {
      expect(posted).toEqual([{ environmentId: "env-1", appId: "newapp2", branch: "feature", force: true }])
    })
    await waitFor(() => {
      expect(rememberedAppId("env-1")).toBe("newapp2")
    })
  })

  it("says to ask an admin when no application is bound, and cannot deploy", async () => {
    const fetchMock = server((url) => (url === "/api/deployment/list/env-1" ? json(200, { deployments: [] }) : undefined), {
      bound: [],
    })
    renderPanel()
    expect(await screen.findByTestId("deploy-no-bindings")).toHaveTextContent(
      "No Coolify application is bound to this environment yet. Ask an admin to bind the one to deploy to.",
    )
    expect(screen.queryByTestId("deploy-app-id")).not.toBeInTheDocument()
    expect(screen.getByTestId("deploy-button")).toBeDisabled()
    expect(screen.queryByTestId("deployment-bindings")).not.toBeInTheDocument()
    expect(fetchMock.mock.calls.some(([url]) => url === "/api/deployment/deploy")).toBe(false)
  })

  it("shows the server's field message and its refusal of an unbound application", async () => {
    let answer = 0
    server((url) => {
      if (url === "/api/deployment/list/env-1") return json(200, { deployments: [] })
      if (url === "/api/deployment/deploy") {
        answer += 1
        return answer === 1
          ? json(422, {
              error: 'branch "a..b" is not a valid git branch name',
              code: "invalid_input",
              details: { fields: { branch: 'branch "a..b" is not a valid git branch name' } },
            })
          : json(403, {
              error: "the Coolify application app1 is not bound to this environment; ask an admin to bind it",
              code: "application_not_bound",
            })
      }
      return undefined
    })
    renderPanel()
    const user = userEvent.setup()
    await screen.findByTestId("deployments-empty")
    await screen.findByTestId("deploy-app-id")
    await user.type(screen.getByTestId("deploy-branch"), "a..b")
    await user.click(screen.getByTestId("deploy-button"))
    expect(await screen.findByTestId("deploy-branch-message")).toHaveTextContent('Branch "a..b" is not a valid git branch name')
    expect(screen.queryByTestId("deploy-error")).not.toBeInTheDocument()
    await user.clear(screen.getByTestId("deploy-branch"))
    expect(screen.getByTestId("deploy-branch-message")).not.toHaveAttribute("data-kind", "error")
    await user.click(screen.getByTestId("deploy-button"))
    expect(await screen.findByTestId("deploy-error")).toHaveTextContent(
      "The Coolify application app1 is not bound to this environment; ask an admin to bind it",
    )
  })

  it("shows Coolify's message when Coolify refuses (502)", async () => {
    server(
      (url) => {
        if (url === "/api/deployment/list/env-1") return json(200, { deployments: [] })
        if (url === "/api/deployment/deploy") {
          return json(502, {
            error: "Coolify refused the request while reading the application with status 404: Application not found.",
            code: "upstream_failed",
          })
        }
        return undefined
      },
      { bound: ["nosuchapp"] },
    )
    renderPanel()
    const user = userEvent.setup()
    await screen.findByTestId("deployments-empty")
    await screen.findByTestId("deploy-app-id")
    await user.click(screen.getByTestId("deploy-button"))
    const error = await screen.findByTestId("deploy-error")
    expect(error).toHaveTextContent("Coolify did not deploy it")
    expect(error).toHaveTextContent("status 404: Application not found.")
    expect(rememberedAppId("env-1")).toBe("")
  })

  it("lets an admin bind and unbind applications, checking the uuid first", async () => {
    const fetchMock = server((url) => (url === "/api/deployment/list/env-1" ? json(200, { deployments: [] }) : undefined), {
      bound: [],
      admin: true,
    })
    renderPanel()
    const user = userEvent.setup()
    expect(await screen.findByTestId("deploy-no-bindings")).toHaveTextContent("Bind one below to deploy to it.")
    const input = await screen.findByTestId("deployment-binding-input")
    await user.type(input, "my-app")
    expect(screen.getByTestId("bind-app-message")).toHaveTextContent("letters and digits")
    await user.click(screen.getByTestId("deployment-binding-add"))
    expect(fetchMock.mock.calls.some(([, init]) => init?.method === "PUT")).toBe(false)

    await user.clear(input)
    await user.type(input, "newapp")
    await user.click(screen.getByTestId("deployment-binding-add"))
    const bound = await screen.findByTestId("deployment-binding")
    expect(bound).toHaveAttribute("data-app-id", "newapp")
    expect(input).toHaveValue("")
    expect(await screen.findByTestId("deploy-app-id")).toHaveValue("newapp")
    expect(
      fetchMock.mock.calls.some(
        ([url, init]) => url === "/api/environments/env-1/deployment-bindings/newapp" && init?.method === "PUT",
      ),
    ).toBe(true)

    await user.click(within(bound).getByRole("button", { name: "Unbind newapp" }))
    await waitFor(() => {
      expect(screen.queryByTestId("deployment-binding")).not.toBeInTheDocument()
    })
    expect(await screen.findByTestId("deploy-no-bindings")).toBeInTheDocument()
  })

  it("lists past deployments with their status, app, branch and Coolify id", async () => {
    server((url) =>
      url === "/api/deployment/list/env-1"
        ? json(200, {
            deployments: [
              deployment("failed", { id: "d2", metadata: { error: "Coolify no longer knows deployment x" } }),
              deployment("cancelled", { id: "d1", branch: "feature", coolifyDeploymentId: "depcancel" }),
            ],
          })
        : undefined,
    )
    renderPanel()
    const rows = await screen.findAllByTestId("deployment-row")
    expect(rows.map((r) => r.getAttribute("data-status"))).toEqual(["failed", "cancelled"])
    expect(within(rows[0]!).getByTestId("deployment-problem")).toHaveTextContent("Coolify no longer knows deployment x")
    expect(within(rows[1]!).getByTestId("deployment-branch")).toHaveTextContent("feature")
    expect(within(rows[1]!).getByTestId("deployment-coolify-id")).toHaveTextContent("depcancel")
    expect(within(rows[1]!).getByTestId("deployment-app-id")).toHaveTextContent("app1")
  })
})
