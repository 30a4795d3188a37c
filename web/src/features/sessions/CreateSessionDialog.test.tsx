import { screen, waitFor } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import type { Agent, Environment, Session } from "@/lib/api/types"
import { CreateSessionDialog } from "@/features/sessions/CreateSessionDialog"
import { SessionRow } from "@/features/sessions/SessionRow"
import { json, mockFetch, renderApp, signIn } from "@/test/render"
import { DEFAULT_SIZE } from "@/test/fixtures"

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

const agent = (id: string, name: string, type = "claude-code"): Agent => ({
  id,
  userId: "u",
  name,
  type,
  hasCredential: true,
  credentialType: "api-key",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
})

const session = (overrides: Partial<Session> = {}): Session => ({
  id: "s1",
  environmentId: "env-1",
  name: "main",
  tmuxSessionName: "cs-s1",
  workingDirectory: "/workspace",
  status: "active",
  sessionType: "terminal",
  gitBranch: "main",
  variablesOutdated: false,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  activity: { state: "idle", since: "2026-01-01T00:00:00Z" },
  ...overrides,
})

function server(agents: Agent[]) {
  const posted: unknown[] = []
  const fetchMock = mockFetch((url, init) => {
    if (url === "/api/agents") return json(200, { agents })
    if (url.startsWith("/api/sessions/check-branch/")) return json(200, { valid: true, exists: true, inUseBySessions: 0 })
    if (url.startsWith("/api/sessions/check-name/")) return json(200, { available: true })
    if (url === "/api/sessions" && init?.method === "POST") {
      const body = JSON.parse(init.body as string) as Record<string, unknown>
      posted.push(body)
      return json(201, session({ sessionType: (body.sessionType as string | undefined) ?? "terminal" }))
    }
    return undefined
  })
  return { posted, fetchMock }
}

function open() {
  signIn()
  renderApp(<CreateSessionDialog environment={environment} open onOpenChange={() => undefined} />)
  return userEvent.setup()
}

describe("CreateSessionDialog", () => {
  it("starts a terminal session by default and does not load agents for it", async () => {
    const { posted, fetchMock } = server([agent("a1", "claude")])
    const user = open()
    expect(screen.getByTestId("session-type-terminal")).toHaveAttribute("data-state", "checked")
    await user.click(screen.getByTestId("create-session-submit"))
    await waitFor(() => {
      expect(posted).toEqual([{ environmentId: "env-1", branch: "main" }])
    })
    expect(fetchMock.mock.calls.some(([url]) => url === "/api/agents")).toBe(false)
  })

  it("starts an agent session with the agent picked", async () => {
    const { posted } = server([agent("a1", "claude"), agent("a2", "gemini", "gemini-cli")])
    const user = open()
    await user.click(screen.getByTestId("session-type-agent"))
    const select = await screen.findByTestId("session-agent-select")
    // The first agent is picked until another one is.
    expect(select).toHaveTextContent("claude")
    await user.click(select)
    await user.click(await screen.findByRole("option", { name: /gemini/ }))
    expect(screen.getByTestId("session-agent-select")).toHaveTextContent("gemini")
    await user.click(screen.getByTestId("create-session-submit"))
    await waitFor(() => {
      expect(posted).toEqual([{ environmentId: "env-1", branch: "main", sessionType: "agent", agentId: "a2" }])
    })
  })

  it("links to the agents page when there are no agents, and cannot start an agent session", async () => {
    const { posted } = server([])
    const user = open()
    await user.click(screen.getByTestId("session-type-agent"))
    expect(await screen.findByTestId("session-agents-link")).toHaveAttribute("href", "/agents")
    expect(screen.getByTestId("create-session-submit")).toBeDisabled()
    await user.click(screen.getByTestId("session-type-terminal"))
    expect(screen.getByTestId("create-session-submit")).toBeEnabled()
    expect(posted).toEqual([])
  })
})

describe("SessionRow", () => {
  it("marks an agent session with its agent's name", async () => {
    server([agent("a1", "claude")])
    signIn()
    renderApp(
      <ul>
        <SessionRow
          environment={environment}
          session={session({ sessionType: "agent", agentId: "a1" })}
          lastOnBranch={false}
          onWorkspaceKept={() => undefined}
        />
        <SessionRow environment={environment} session={session({ id: "s2", name: "shell" })} lastOnBranch={false} onWorkspaceKept={() => undefined} />
      </ul>,
    )
    await waitFor(() => {
      expect(screen.getByTestId("session-agent-badge")).toHaveAttribute("data-agent-name", "claude")
    })
    expect(screen.getByTestId("session-agent-badge")).toHaveTextContent("claude")
    // A terminal session has no badge.
    expect(screen.getAllByTestId("session-agent-badge")).toHaveLength(1)
  })

  it("marks a running session that started with older variables", () => {
    server([])
    signIn()
    renderApp(
      <ul>
        <SessionRow
          environment={environment}
          session={session({ variablesOutdated: true })}
          lastOnBranch={false}
          onWorkspaceKept={() => undefined}
        />
        <SessionRow
          environment={environment}
          session={session({ id: "s2", name: "ended", status: "dead", variablesOutdated: true })}
          lastOnBranch={false}
          onWorkspaceKept={() => undefined}
        />
      </ul>,
    )
    const badges = screen.getAllByTestId("session-variables-outdated")
    expect(badges).toHaveLength(1)
    expect(badges[0]).toHaveTextContent("old variables")
  })
})
