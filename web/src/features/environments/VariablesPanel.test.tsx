import { act, screen, waitFor, within } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import { ApiError } from "@/lib/api/errors"
import type { Environment, EnvironmentVariables, Session, User, VariableInput } from "@/lib/api/types"
import { VariablesPanel } from "@/features/environments/VariablesPanel"
import { nameProblem, rowProblems, rowsOf, serverProblems, toInput } from "@/features/environments/variables"
import { json, mockFetch, renderApp, signIn } from "@/test/render"
import { DEFAULT_SIZE } from "@/test/fixtures"

const session = (id: string, name: string, outdated: boolean): Session => ({
  id,
  environmentId: "env-1",
  name,
  tmuxSessionName: `cs-${id}`,
  workingDirectory: "/workspace",
  status: "active",
  sessionType: "terminal",
  gitBranch: "main",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  activity: { state: "idle", since: "2026-01-01T00:00:00Z" },
  variablesOutdated: outdated,
})

const environment = (sessions: Session[] = []): Environment => ({
  id: "env-1",
  userId: "ada",
  name: "shop",
  repositoryUrl: null,
  branch: "main",
  status: "running",
  egressPolicy: { mode: "open", hosts: [] },
  idleStopMinutes: 60,
  size: DEFAULT_SIZE,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  workspaces: [],
  sessions,
})

const person = (id: string): User => ({
  id,
  email: `${id}@example.com`,
  name: id,
  isAdmin: false,
  createdAt: "2026-01-01T00:00:00Z",
})

const stored: EnvironmentVariables = {
  variables: [
    { name: "DATABASE_URL", value: "postgres://db/app", secret: false },
    { name: "API_TOKEN", secret: true },
  ],
  version: 3,
  outdatedSessions: [],
}

/** Answers who is signed in and the variables, and records each PUT with `answer`. */
function server(me: string, answer: (sent: VariableInput[]) => Response = () => json(200, stored)) {
  const puts: VariableInput[][] = []
  const patches: { id: string; status: string }[] = []
  const fetchMock = mockFetch((url, init) => {
    if (url === "/api/auth/me") return json(200, person(me))
    if (url === "/api/environments/env-1/variables") {
      if (init?.method === "PUT") {
        const { variables } = JSON.parse(init.body as string) as { variables: VariableInput[] }
        puts.push(variables)
        return answer(variables)
      }
      return json(200, stored)
    }
    const patch = /^\/api\/sessions\/([^/]+)$/.exec(url)
    if (patch?.[1] && init?.method === "PATCH") {
      const { status } = JSON.parse(init.body as string) as { status: string }
      patches.push({ id: patch[1], status })
      return json(200, { ...session(patch[1], "shell", false), status })
    }
    return undefined
  })
  return { puts, patches, fetchMock }
}

function show(env: Environment) {
  signIn()
  renderApp(<VariablesPanel environment={env} />)
  return userEvent.setup()
}

describe("variables' rules", () => {
  it("checks names as the server does", () => {
    expect(nameProblem("DATABASE_URL")).toBeNull()
    expect(nameProblem("_x1")).toBeNull()
    expect(nameProblem("")).toBe("A name is required.")
    expect(nameProblem("1X")).toContain("not starting with a digit")
    expect(nameProblem("A-B")).toContain("Letters, digits and _")
    expect(nameProblem("PATH")).toContain("set by the workspace itself")
    expect(nameProblem("LD_PRELOAD")).toContain("starting with LD_")
    expect(nameProblem("CRAFTASTIC_X")).toContain("starting with CRAFTASTIC_")
  })

  it("keeps a stored secret's value under its name only, and sends it without a value", () => {
    const rows = rowsOf(stored.variables)
    expect(toInput(rows)).toEqual([
      { name: "DATABASE_URL", value: "postgres://db/app", secret: false },
      { name: "API_TOKEN", secret: true },
    ])
    const [plain, secret] = rows
    if (!plain || !secret) throw new Error("two rows")
    const renamed = { ...secret, name: "TOKEN" }
    expect(rowProblems([plain, renamed])[renamed.key]?.value).toContain("Renamed")
    const twice = { ...secret, name: "DATABASE_URL" }
    expect(rowProblems([plain, twice])[twice.key]?.name).toBe("DATABASE_URL is already in the list.")
  })

  it("spreads the server's 422 over the rows", () => {
    const rows = rowsOf(stored.variables)
    const error = new ApiError(422, "invalid_input", "…", {
      details: {
        fields: {
          "variables[1].value": "variables[1].value: API_TOKEN is a new secret; give its value",
          variables: "variables: names and values together must be at most 64 KiB, not 70.0 KiB",
        },
      },
    })
    const spread = serverProblems(error, rows)
    expect(spread.rows[rows[1]?.key ?? ""]).toEqual({ value: "API_TOKEN is a new secret; give its value" })
    expect(spread.form).toBe("Names and values together must be at most 64 KiB, not 70.0 KiB")
  })
})

describe("VariablesPanel", () => {
  it("shows plain values and only that a secret is set", async () => {
    server("ada")
    show(environment())
    const list = await screen.findByTestId("variables-list")
    const rows = within(list).getAllByTestId("variable")
    expect(rows.map((r) => r.dataset.name)).toEqual(["DATABASE_URL", "API_TOKEN"])
    expect(rows[0]).toHaveTextContent("postgres://db/app")
    expect(rows[1]).toHaveTextContent("secret, set")
    expect(rows[1]).toHaveAttribute("data-secret", "true")
  })

  it("edits rows, keeps a secret unless replaced, and sends the whole set", async () => {
    const { puts } = server("ada")
    const user = show(environment())
    await user.click(await screen.findByTestId("variables-edit"))
    const rows = () => screen.getAllByTestId("variable-row")
    expect(rows()).toHaveLength(2)
    expect(rows()[1]).toHaveAttribute("data-state", "kept")
    expect(within(rows()[1]!).queryByTestId("variable-value")).not.toBeInTheDocument()

    await user.click(screen.getByTestId("variables-add"))
    const added = rows()[2]!
    await user.type(within(added).getByTestId("variable-name"), "STRIPE_KEY")
    await user.type(within(added).getByTestId("variable-value"), "sk_test_1")
    await user.click(within(added).getByTestId("variable-secret"))
    await user.click(screen.getByTestId("variables-save"))
    await waitFor(() => {
      expect(puts).toHaveLength(1)
    })
    expect(puts[0]).toEqual([
      { name: "DATABASE_URL", value: "postgres://db/app", secret: false },
      { name: "API_TOKEN", secret: true },
      { name: "STRIPE_KEY", value: "sk_test_1", secret: true },
    ])
    await waitFor(() => {
      expect(screen.queryByTestId("variables-form")).not.toBeInTheDocument()
    })

    await user.click(screen.getByTestId("variables-edit"))
    await user.click(within(rows()[1]!).getByTestId("variable-replace"))
    await user.type(within(rows()[1]!).getByTestId("variable-value"), "new-token")
    await user.click(within(rows()[0]!).getByTestId("variable-remove"))
    await user.click(screen.getByTestId("variables-save"))
    await waitFor(() => {
      expect(puts).toHaveLength(2)
    })
    expect(puts[1]).toEqual([{ name: "API_TOKEN", value: "new-token", secret: true }])
  })

  it("names each bad row, and sends nothing until they are fixed", async () => {
    const { puts } = server("ada")
    const user = show(environment())
    await user.click(await screen.findByTestId("variables-edit"))
    await user.click(screen.getByTestId("variables-add"))
    await user.click(screen.getByTestId("variables-add"))
    const [, secret, first, second] = screen.getAllByTestId("variable-row")
    await user.type(within(first!).getByTestId("variable-name"), "PATH")
    await user.type(within(second!).getByTestId("variable-name"), "DATABASE_URL")
    await user.clear(within(secret!).getByTestId("variable-name"))
    await user.type(within(secret!).getByTestId("variable-name"), "TOKEN")
    await user.click(screen.getByTestId("variables-save"))
    expect(within(first!).getByTestId("variable-name-error")).toHaveTextContent(
      "PATH is set by the workspace itself",
    )
    expect(within(second!).getByTestId("variable-name-error")).toHaveTextContent(
      "DATABASE_URL is already in the list.",
    )
    expect(within(secret!).getByTestId("variable-value-error")).toHaveTextContent("Renamed")
    expect(puts).toEqual([])
  })

  it("shows the server's refusal under the row it names", async () => {
    const { puts } = server("ada", () =>
      json(422, {
        error: "variables[0].value: value must not contain NUL bytes",
        code: "invalid_input",
        details: { fields: { "variables[0].value": "variables[0].value: value must not contain NUL bytes" } },
      }),
    )
    const user = show(environment())
    await user.click(await screen.findByTestId("variables-edit"))
    await user.click(screen.getByTestId("variables-save"))
    await waitFor(() => {
      expect(puts).toHaveLength(1)
    })
    const first = screen.getAllByTestId("variable-row")[0]!
    expect(await within(first).findByTestId("variable-value-error")).toHaveTextContent(
      "Value must not contain NUL bytes",
    )
    expect(screen.getByTestId("variables-form")).toBeInTheDocument()
  })

  it("tells which running sessions have the old values, and restarts one", async () => {
    const { patches } = server("ada")
    const user = show(environment([session("s1", "shell", true), session("s2", "agent", false)]))
    const notice = await screen.findByTestId("variables-outdated")
    expect(notice).toHaveTextContent("1 running session still has the old values")
    const listed = within(notice).getAllByTestId("variables-outdated-session")
    expect(listed.map((l) => l.dataset.sessionId)).toEqual(["s1"])
    await user.click(within(notice).getByTestId("variables-restart-session"))
    await user.click(await screen.findByTestId("confirm-button"))
    await waitFor(() => {
      expect(patches).toEqual([
        { id: "s1", status: "dead" },
        { id: "s1", status: "active" },
      ])
    })
  })

  it("lets another user see them but not change them", async () => {
    const { fetchMock } = server("bob")
    show(environment())
    await screen.findByTestId("variables-list")
    await waitFor(() => {
      expect(fetchMock.mock.calls.some(([url]) => url === "/api/auth/me")).toBe(true)
    })
    await act(() => new Promise((resolve) => setTimeout(resolve, 50)))
    expect(screen.queryByTestId("variables-edit")).not.toBeInTheDocument()
  })
})
