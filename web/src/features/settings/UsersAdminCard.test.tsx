import { screen, waitFor, within } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import type { AdminUser, LimitCounts, LimitOverrides } from "@/lib/api/types"
import { UsersAdminCard } from "@/features/settings/UsersAdminCard"
import { json, mockFetch, renderApp, signIn } from "@/test/render"

const DEFAULTS: LimitCounts = {
  environments: 20,
  runningWorkspaces: 10,
  sessions: 50,
  terminals: 20,
  deploymentsInFlight: 3,
}
const NONE: LimitOverrides = {
  environments: null,
  runningWorkspaces: null,
  sessions: null,
  terminals: null,
  deploymentsInFlight: null,
}

function user(id: string, email: string, usage: Partial<LimitCounts>, overrides: Partial<LimitOverrides> = {}): AdminUser {
  const set = { ...NONE, ...overrides }
  const limits = { ...DEFAULTS }
  for (const key of Object.keys(set) as (keyof LimitCounts)[]) limits[key] = set[key] ?? DEFAULTS[key]
  return {
    id,
    email,
    name: email.split("@")[0] ?? email,
    isAdmin: id === "u1",
    createdAt: "2026-01-01T00:00:00Z",
    usage: { environments: 0, runningWorkspaces: 0, sessions: 0, terminals: 0, deploymentsInFlight: 0, ...usage },
    limits,
    overrides: set,
  }
}

/** A server with `users`, recording each PUT; `refuse` answers a PUT instead when given. */
function usersServer(initial: AdminUser[], refuse?: Response) {
  let users = [...initial]
  const puts: { url: string; body: unknown }[] = []
  mockFetch((url, init) => {
    const method = init?.method ?? "GET"
    if (url.startsWith("/api/admin/users?") && method === "GET") {
      return json(200, { users, total: users.length, defaults: DEFAULTS })
    }
    const id = /^\/api\/admin\/users\/([^/]+)\/limits$/.exec(url)?.[1]
    if (id && method === "PUT") {
      const body = JSON.parse(init?.body as string) as Partial<LimitOverrides>
      puts.push({ url, body })
      if (refuse) return refuse
      users = users.map((u) => (u.id === id ? user(u.id, u.email, u.usage, { ...u.overrides, ...body }) : u))
      return json(200, {})
    }
    return undefined
  })
  return { puts }
}

function renderCard() {
  signIn()
  renderApp(<UsersAdminCard />)
  return userEvent.setup()
}

const row = (email: string) => document.querySelector<HTMLElement>(`[data-testid="user-row"][data-email="${email}"]`)!

describe("UsersAdminCard", () => {
  it("lists each user's usage against their limits and marks limits set for them", async () => {
    usersServer([
      user("u1", "admin@example.com", { environments: 1 }),
      user("u2", "bob@example.com", { environments: 3, sessions: 5 }, { environments: 3 }),
    ])
    renderCard()
    expect(await screen.findAllByTestId("user-row")).toHaveLength(2)
    expect(within(row("admin@example.com")).getByTestId("user-environments")).toHaveTextContent("1 / 20")
    const bob = within(row("bob@example.com"))
    expect(bob.getByTestId("user-environments")).toHaveTextContent("3 / 3*")
    expect(bob.getByTestId("user-environments")).toHaveClass("text-destructive")
    expect(bob.getByTestId("user-sessions")).toHaveTextContent("5 / 50")
  })

  it("saves the limits typed, empty fields going back to the default", async () => {
    const { puts } = usersServer([user("u2", "bob@example.com", { environments: 3 }, { environments: 3 })])
    const u = renderCard()
    await u.click(await screen.findByTestId("edit-limits-button"))
    const dialog = await screen.findByTestId("limits-dialog")
    const environments = within(dialog).getByTestId("limit-input-environments")
    expect(environments).toHaveValue("3")
    await u.clear(environments)
    await u.type(within(dialog).getByTestId("limit-input-terminals"), "40")
    await u.click(within(dialog).getByTestId("save-limits-button"))
    await waitFor(() => {
      expect(puts).toHaveLength(1)
    })
    expect(puts[0]).toEqual({
      url: "/api/admin/users/u2/limits",
      body: { environments: null, runningWorkspaces: null, sessions: null, terminals: 40, deploymentsInFlight: null },
    })
    await waitFor(() => {
      expect(within(row("bob@example.com")).getByTestId("user-terminals")).toHaveTextContent("0 / 40*")
    })
  })

  it("refuses what is no limit before sending, and shows the server's word on a field", async () => {
    const { puts } = usersServer(
      [user("u2", "bob@example.com", {})],
      json(422, {
        error: "sessions must be a whole number from 0 to 10000",
        code: "invalid_input",
        details: { fields: { sessions: "sessions must be a whole number from 0 to 10000, or null" } },
      }),
    )
    const u = renderCard()
    await u.click(await screen.findByTestId("edit-limits-button"))
    const dialog = await screen.findByTestId("limits-dialog")
    await u.type(within(dialog).getByTestId("limit-input-environments"), "-1")
    expect(within(dialog).getByText("A whole number, or empty for the default.")).toBeInTheDocument()
    expect(within(dialog).getByTestId("save-limits-button")).toBeDisabled()
    await u.clear(within(dialog).getByTestId("limit-input-environments"))
    await u.type(within(dialog).getByTestId("limit-input-sessions"), "7")
    await u.click(within(dialog).getByTestId("save-limits-button"))
    await waitFor(() => {
      expect(within(dialog).getByTestId("limit-sessions-message")).toHaveTextContent(
        /sessions must be a whole number from 0 to 10000, or null/i,
      )
    })
    expect(puts).toHaveLength(1)
  })
})
