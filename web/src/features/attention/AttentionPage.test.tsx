import { QueryClient, QueryClientProvider } from "@tanstack/react-query"
import { act, render, screen, waitFor, within } from "@testing-library/react"
import { MemoryRouter } from "react-router"
import { describe, expect, it } from "vitest"

import { TooltipProvider } from "@/components/ui/tooltip"
import type { Environment, Session } from "@/lib/api/types"
import { applyEvent } from "@/lib/events/cache"
import { json, mockFetch, signIn } from "@/test/render"
import { AttentionCount } from "@/features/attention/AttentionCount"
import { AttentionPage } from "@/features/attention/AttentionPage"
import { DEFAULT_SIZE } from "@/test/fixtures"

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString()

function session(id: string, state: string, since: string, detail?: string): Session {
  return {
    id,
    environmentId: "e1",
    name: id,
    tmuxSessionName: `cs-${id}`,
    workingDirectory: "/workspace",
    status: "active",
    sessionType: "terminal",
    gitBranch: "feature",
    variablesOutdated: false,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    activity: { state, since, ...(detail ? { detail } : {}) },
  }
}

function environment(sessions: Session[]): Environment {
  return {
    id: "e1",
    userId: "u1",
    name: "shop",
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

function renderPage(environments: Environment[] | null) {
  signIn()
  mockFetch((url) => {
    if (url === "/api/environments") return environments ? json(200, { environments }) : undefined
    return undefined
  })
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  render(
    <QueryClientProvider client={client}>
      <TooltipProvider>
        <MemoryRouter>
          <AttentionCount />
          <AttentionPage />
        </MemoryRouter>
      </TooltipProvider>
    </QueryClientProvider>,
  )
  return client
}

const names = () => screen.getAllByTestId("attention-row").map((row) => row.getAttribute("data-session-name"))

describe("AttentionPage", () => {
  it("lists the sessions that need the user first, with their environment, branch, time and detail", async () => {
    renderPage([
      environment([
        session("build", "working", minutesAgo(3), "cargo build"),
        session("shell", "idle", minutesAgo(1)),
        session("agent", "waiting", minutesAgo(12)),
      ]),
    ])
    await screen.findAllByTestId("attention-row")
    expect(names()).toEqual(["agent", "build", "shell"])
    const build = screen.getAllByTestId("attention-row")[1]!
    expect(within(build).getByTestId("attention-since")).toHaveTextContent("for 3 min")
    expect(within(build).getByTestId("attention-detail")).toHaveTextContent("cargo build")
    expect(within(build).getByText("shop")).toHaveAttribute("href", "/environments/e1")
    expect(within(build).getByText("feature")).toBeInTheDocument()
    expect(within(build).getByTestId("attention-open")).toHaveAttribute("href", "/environments/e1/terminal/build")
    expect(screen.getByRole("heading", { name: /Needs you/ })).toBeInTheDocument()
    expect(screen.getByTestId("attention-count")).toHaveAccessibleName("1 session needs you")
  })

  it("follows pushed events: a session asking for approval goes first and is counted", async () => {
    const client = renderPage([environment([session("build", "working", minutesAgo(3)), session("shell", "idle", minutesAgo(1))])])
    await screen.findAllByTestId("attention-row")
    expect(screen.getByTestId("attention-count")).toHaveAttribute("data-count", "0")
    expect(screen.getByTestId("attention-count")).toHaveAccessibleName("No session needs you")
    act(() => {
      applyEvent(client, {
        type: "session.activity",
        sessionId: "shell",
        environmentId: "e1",
        activity: { state: "permission", since: new Date().toISOString(), detail: "approve Bash" },
      })
    })
    await waitFor(() => {
      expect(names()).toEqual(["shell", "build"])
    })
    expect(screen.getByTestId("attention-count")).toHaveAttribute("data-count", "1")
    expect(screen.getByTestId("attention-count")).toHaveAccessibleName("1 session needs you")
    expect(screen.getAllByTestId("activity-badge")[0]).toHaveTextContent("Needs approval: approve Bash")
  })

  it("says when there is no session at all", async () => {
    renderPage([environment([])])
    expect(await screen.findByTestId("attention-empty")).toHaveTextContent("No sessions yet")
  })

  it("shows that it is loading, then what went wrong", async () => {
    renderPage(null)
    expect(screen.getByLabelText("Loading sessions")).toHaveAttribute("aria-busy", "true")
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load your sessions")
  })
})
