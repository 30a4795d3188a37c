import { screen, waitFor, within } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import type { Agent } from "@/lib/api/types"
import { AgentsPage } from "@/features/agents/AgentsPage"
import { json, mockFetch, renderApp, signIn } from "@/test/render"

function agent(id: string, name: string, type: string, credentialType?: "api-key" | "oauth"): Agent {
  return {
    id,
    userId: "u",
    name,
    type,
    hasCredential: credentialType !== undefined,
    ...(credentialType ? { credentialType } : {}),
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
  }
}

/** A server with `agents`, recording what is sent; `answer` can replace any answer. */
function agentsServer(initial: Agent[], answer?: (method: string, url: string, body: unknown) => Response | undefined) {
  let agents = [...initial]
  const sent: { method: string; url: string; body: unknown }[] = []
  const fetchMock = mockFetch((url, init) => {
    const method = init?.method ?? "GET"
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined
    if (method !== "GET") sent.push({ method, url, body })
    const special = answer?.(method, url, body)
    if (special) return special
    if (url === "/api/agents" && method === "GET") return json(200, { agents })
    if (url === "/api/agents" && method === "POST") {
      const input = body as { name: string; type: string; credential?: { type: "api-key" | "oauth" } }
      const created = agent(`a${agents.length + 1}`, input.name, input.type, input.credential?.type)
      agents = [...agents, created]
      return json(201, created)
    }
    const id = /^\/api\/agents\/(.+)$/.exec(url)?.[1]
    const found = agents.find((a) => a.id === id)
    if (!found) return undefined
    if (method === "DELETE") {
      agents = agents.filter((a) => a.id !== id)
      return new Response(null, { status: 204 })
    }
    if (method === "PATCH") {
      const input = body as { name?: string; credential?: { type: "api-key" | "oauth" } | null }
      const updated: Agent = { ...found, ...(input.name ? { name: input.name } : {}) }
      if (input.credential === null) {
        updated.hasCredential = false
        delete updated.credentialType
      } else if (input.credential) {
        updated.hasCredential = true
        updated.credentialType = input.credential.type
      }
      agents = agents.map((a) => (a.id === id ? updated : a))
      return json(200, updated)
    }
    return undefined
  })
  return { sent, fetchMock }
}

function renderPage() {
  signIn()
  renderApp(<AgentsPage />)
  return userEvent.setup()
}

const row = (name: string) => document.querySelector<HTMLElement>(`[data-testid="agent-row"][data-name="${name}"]`)!

describe("AgentsPage", () => {
  it("lists each agent with its type and whether a credential is set", async () => {
    agentsServer([agent("a1", "claude", "claude-code", "api-key"), agent("a2", "cursor", "cursor-cli")])
    renderPage()
    expect(await screen.findAllByTestId("agent-row")).toHaveLength(2)
    expect(within(row("claude")).getByTestId("agent-type")).toHaveTextContent("Claude Code")
    expect(within(row("claude")).getByTestId("agent-credential-status")).toHaveTextContent("API key set")
    expect(within(row("cursor")).getByTestId("agent-type")).toHaveTextContent("Cursor CLI")
    expect(within(row("cursor")).getByTestId("agent-credential-status")).toHaveAttribute("data-state", "not-set")
    expect(within(row("cursor")).queryByTestId("remove-credential-button")).not.toBeInTheDocument()
  })

  it("creates an agent with an API key that leaves the page as it is sent", async () => {
    const { sent } = agentsServer([])
    const user = renderPage()
    await user.click(await screen.findByTestId("create-agent-button"))
    await user.type(screen.getByTestId("agent-name-input"), "claude")
    await user.click(screen.getByTestId("agent-credential-kind-api-key"))
    const input = screen.getByTestId("agent-credential-input")
    expect(input).toHaveAttribute("type", "password")
    expect(input).toHaveAttribute("autocomplete", "off")
    await user.type(input, "sk-ant-secret-1")
    await user.click(screen.getByTestId("agent-save-button"))

    await waitFor(() => {
      expect(row("claude")).toBeInTheDocument()
    })
    expect(sent).toEqual([
      {
        method: "POST",
        url: "/api/agents",
        body: { name: "claude", type: "claude-code", credential: { type: "api-key", value: "sk-ant-secret-1" } },
      },
    ])
    expect(screen.queryByTestId("agent-dialog")).not.toBeInTheDocument()
    expect(within(row("claude")).getByTestId("agent-credential-status")).toHaveTextContent("API key set")
    expect(document.body.innerHTML).not.toContain("sk-ant-secret-1")
  })

  it("checks that an OAuth credential is a JSON object before sending it", async () => {
    const { sent } = agentsServer([])
    const user = renderPage()
    await user.click(await screen.findByTestId("create-agent-button"))
    await user.type(screen.getByTestId("agent-name-input"), "gemini")
    await user.click(screen.getByTestId("agent-type-select"))
    await user.click(await screen.findByRole("option", { name: /Gemini CLI/ }))
    await user.click(screen.getByTestId("agent-credential-kind-oauth"))
    const input = screen.getByTestId("agent-credential-input")
    expect(input.tagName).toBe("TEXTAREA")
    await user.click(input)
    await user.paste("[1, 2]")
    expect(screen.getByTestId("agent-credential-message")).toHaveTextContent("JSON object")
    await user.click(screen.getByTestId("agent-save-button"))
    expect(sent).toEqual([])

    await user.clear(input)
    await user.paste('{"access_token": "ya29.x", "refresh_token": "1//y"}')
    expect(screen.getByTestId("agent-credential-message")).not.toHaveAttribute("data-kind", "error")
    await user.click(screen.getByTestId("agent-save-button"))
    await waitFor(() => {
      expect(sent).toHaveLength(1)
    })
    expect(sent[0]?.body).toEqual({
      name: "gemini",
      type: "gemini-cli",
      credential: { type: "oauth", value: '{"access_token": "ya29.x", "refresh_token": "1//y"}' },
    })
  })

  it("offers no OAuth for Cursor CLI", async () => {
    agentsServer([])
    const user = renderPage()
    await user.click(await screen.findByTestId("create-agent-button"))
    await user.click(screen.getByTestId("agent-credential-kind-oauth"))
    await user.click(screen.getByTestId("agent-type-select"))
    await user.click(await screen.findByRole("option", { name: /Cursor CLI/ }))
    expect(screen.getByTestId("agent-credential-kind-oauth")).toBeDisabled()
    expect(screen.getByTestId("agent-credential-kind-api-key")).toHaveAttribute("data-state", "checked")
  })

  it("shows the server's messages at their fields, and clears each one on edit", async () => {
    agentsServer([], (method) =>
      method === "POST"
        ? json(422, {
            error: "name may contain only letters, digits, '.', '_' and '-'",
            code: "invalid_input",
            details: {
              fields: {
                name: "name is already used by a reserved agent",
                "credential.value": "an api-key credential must be one token without spaces or line breaks",
              },
            },
          })
        : undefined,
    )
    const user = renderPage()
    await user.click(await screen.findByTestId("create-agent-button"))
    await user.type(screen.getByTestId("agent-name-input"), "claude")
    await user.click(screen.getByTestId("agent-credential-kind-api-key"))
    await user.type(screen.getByTestId("agent-credential-input"), "sk-1")
    await user.click(screen.getByTestId("agent-save-button"))

    expect(await screen.findByTestId("agent-name-message")).toHaveTextContent("Name is already used by a reserved agent")
    expect(screen.getByTestId("agent-credential-message")).toHaveTextContent("An api-key credential must be one token")
    // The credential was not kept after it was sent.
    expect(screen.getByTestId("agent-credential-input")).toHaveValue("")
    expect(screen.queryByTestId("agent-form-error")).not.toBeInTheDocument()

    await user.type(screen.getByTestId("agent-name-input"), "2")
    expect(screen.getByTestId("agent-name-message")).not.toHaveAttribute("data-kind", "error")
    await user.type(screen.getByTestId("agent-credential-input"), "k")
    expect(screen.getByTestId("agent-credential-message")).not.toHaveAttribute("data-kind", "error")
  })

  it("puts a taken name on the name field", async () => {
    agentsServer([], (method) =>
      method === "POST" ? json(409, { error: "you already have an agent named claude", code: "name_taken" }) : undefined,
    )
    const user = renderPage()
    await user.click(await screen.findByTestId("create-agent-button"))
    await user.type(screen.getByTestId("agent-name-input"), "claude")
    await user.click(screen.getByTestId("agent-save-button"))
    expect(await screen.findByTestId("agent-name-message")).toHaveTextContent("You already have an agent named claude")
  })

  it("renames, replaces and removes the credential, and deletes after confirming", async () => {
    const { sent } = agentsServer([agent("a1", "claude", "claude-code", "api-key")])
    const user = renderPage()
    await screen.findByTestId("agent-row")

    await user.click(within(row("claude")).getByTestId("rename-agent-button"))
    expect(screen.getByTestId("agent-save-button")).toBeDisabled()
    await user.clear(screen.getByTestId("agent-name-input"))
    await user.type(screen.getByTestId("agent-name-input"), "claude-2")
    await user.click(screen.getByTestId("agent-save-button"))
    await waitFor(() => {
      expect(row("claude-2")).toBeInTheDocument()
    })

    await user.click(within(row("claude-2")).getByTestId("set-credential-button"))
    expect(screen.queryByTestId("agent-name-input")).not.toBeInTheDocument()
    await user.type(screen.getByTestId("agent-credential-input"), "sk-new")
    await user.click(screen.getByTestId("agent-save-button"))
    await waitFor(() => {
      expect(screen.queryByTestId("agent-dialog")).not.toBeInTheDocument()
    })

    await user.click(within(row("claude-2")).getByTestId("remove-credential-button"))
    await user.click(screen.getByTestId("confirm-button"))
    await waitFor(() => {
      expect(within(row("claude-2")).getByTestId("agent-credential-status")).toHaveAttribute("data-state", "not-set")
    })

    await user.click(within(row("claude-2")).getByTestId("delete-agent-button"))
    expect(sent.some((s) => s.method === "DELETE")).toBe(false)
    await user.click(screen.getByTestId("confirm-button"))
    expect(await screen.findByTestId("agents-empty")).toBeInTheDocument()

    expect(sent).toEqual([
      { method: "PATCH", url: "/api/agents/a1", body: { name: "claude-2" } },
      { method: "PATCH", url: "/api/agents/a1", body: { credential: { type: "api-key", value: "sk-new" } } },
      { method: "PATCH", url: "/api/agents/a1", body: { credential: null } },
      { method: "DELETE", url: "/api/agents/a1", body: undefined },
    ])
  })
})
