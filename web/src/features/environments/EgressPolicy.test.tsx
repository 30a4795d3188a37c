import { act, screen, waitFor } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import type { EgressPolicy, Environment, User } from "@/lib/api/types"
import { EgressPolicySummary } from "@/features/environments/EgressPolicy"
import { json, mockFetch, renderApp, signIn } from "@/test/render"
import { DEFAULT_SIZE } from "@/test/fixtures"

const environment = (egressPolicy: EgressPolicy): Environment => ({
  id: "env-1",
  userId: "ada",
  name: "shop",
  repositoryUrl: null,
  branch: "main",
  status: "running",
  egressPolicy,
  idleStopMinutes: 60,
  size: DEFAULT_SIZE,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  workspaces: [],
  sessions: [],
})

const person = (id: string, isAdmin = false): User => ({
  id,
  email: `${id}@example.com`,
  name: id,
  isAdmin,
  createdAt: "2026-01-01T00:00:00Z",
})

function show(env: Environment) {
  signIn()
  renderApp(
    <dl>
      <EgressPolicySummary environment={env} />
    </dl>,
  )
  return userEvent.setup()
}

describe("EgressPolicySummary", () => {
  it("checks each host line before saving", async () => {
    const fetchMock = mockFetch((url) => (url === "/api/auth/me" ? json(200, person("ada")) : undefined))
    const user = show(environment({ mode: "open", hosts: [] }))
    expect(screen.getByTestId("egress-policy-summary")).toHaveTextContent("Internet: open")
    await user.click(await screen.findByTestId("egress-policy-edit"))
    expect(screen.getByTestId("egress-mode-open")).toBeChecked()
    expect(screen.queryByTestId("egress-hosts-input")).not.toBeInTheDocument()

    await user.click(screen.getByTestId("egress-mode-allowlist"))
    await user.click(screen.getByTestId("egress-policy-save"))
    expect(screen.getByTestId("egress-hosts-message")).toHaveTextContent("List at least one host")
    await user.click(screen.getByTestId("egress-hosts-input"))
    await user.paste("github.com\nhttps://registry.npmjs.org/")
    expect(screen.getByTestId("egress-hosts-message")).toHaveTextContent(
      "Line 2 (https://registry.npmjs.org/): Not a host name: write registry.npmjs.org.",
    )
    expect(screen.getByTestId("egress-policy-save")).toBeDisabled()
    expect(fetchMock.mock.calls.some(([url]) => url.endsWith("/egress"))).toBe(false)
  })

  it("lets the owner save an allowlist", async () => {
    const sent: unknown[] = []
    mockFetch((url, init) => {
      if (url === "/api/auth/me") return json(200, person("ada"))
      if (url === "/api/environments/env-1/egress" && init?.method === "PUT") {
        const body = JSON.parse(init.body as string) as EgressPolicy
        sent.push(body)
        return json(200, environment(body))
      }
      return undefined
    })
    const user = show(environment({ mode: "open", hosts: [] }))
    await user.click(await screen.findByTestId("egress-policy-edit"))
    await user.click(screen.getByTestId("egress-mode-allowlist"))
    await user.click(screen.getByTestId("egress-hosts-input"))
    await user.paste("github.com\n\nregistry.npmjs.org\n*.githubusercontent.com\n")
    expect(screen.getByTestId("egress-hosts-message")).toHaveTextContent("3 hosts")
    await user.click(screen.getByTestId("egress-policy-save"))
    await waitFor(() => {
      expect(sent).toEqual([{ mode: "allowlist", hosts: ["github.com", "registry.npmjs.org", "*.githubusercontent.com"] }])
    })
    await waitFor(() => {
      expect(screen.queryByTestId("egress-policy-dialog")).not.toBeInTheDocument()
    })
  })

  it("shows the server's message about a host under the hosts", async () => {
    const message = "egressPolicy.hosts[1]: 'github.internal' is not a public host name"
    mockFetch((url, init) => {
      if (url === "/api/auth/me") return json(200, person("ada"))
      if (url === "/api/environments/env-1/egress" && init?.method === "PUT") {
        return json(422, { error: message, code: "invalid_input", details: { fields: { "egressPolicy.hosts": message } } })
      }
      return undefined
    })
    const user = show(environment({ mode: "allowlist", hosts: ["github.com", "pypi.org"] }))
    expect(screen.getByTestId("egress-policy-summary")).toHaveTextContent("Internet: 2 hosts")
    await user.click(await screen.findByTestId("egress-policy-edit"))
    expect(screen.getByTestId("egress-mode-allowlist")).toBeChecked()
    expect(screen.getByTestId("egress-hosts-input")).toHaveValue("github.com\npypi.org")
    await user.click(screen.getByTestId("egress-policy-save"))
    expect(await screen.findByTestId("egress-hosts-message")).toHaveTextContent(message)
    expect(screen.getByTestId("egress-hosts-input")).toHaveAttribute("aria-invalid", "true")
    expect(screen.queryByTestId("egress-policy-error")).not.toBeInTheDocument()
    // Editing the hosts clears the server's message.
    await user.clear(screen.getByTestId("egress-hosts-input"))
    await user.paste("github.com\npypi.org\nfiles.pythonhosted.org")
    expect(screen.getByTestId("egress-hosts-message")).toHaveTextContent("3 hosts")
    expect(screen.getByTestId("egress-hosts-input")).toHaveValue("github.com\npypi.org\nfiles.pythonhosted.org")
  })

  it("closes the internet with mode none and sends no hosts", async () => {
    const sent: unknown[] = []
    mockFetch((url, init) => {
      if (url === "/api/auth/me") return json(200, person("root", true))
      if (url === "/api/environments/env-1/egress") {
        sent.push(JSON.parse(init?.body as string))
        return json(200, environment({ mode: "none", hosts: [] }))
      }
      return undefined
    })
    const user = show(environment({ mode: "allowlist", hosts: ["github.com"] }))
    // An admin may change anybody's.
    await user.click(await screen.findByTestId("egress-policy-edit"))
    await user.click(screen.getByTestId("egress-mode-none"))
    await user.click(screen.getByTestId("egress-policy-save"))
    await waitFor(() => {
      expect(sent).toEqual([{ mode: "none", hosts: [] }])
    })
  })

  it("shows the policy without a way to change it to another user", async () => {
    const fetchMock = mockFetch((url) => (url === "/api/auth/me" ? json(200, person("bob")) : undefined))
    show(environment({ mode: "none", hosts: [] }))
    expect(screen.getByTestId("egress-policy-summary")).toHaveTextContent("Internet: none")
    await waitFor(() => {
      expect(fetchMock.mock.calls.some(([url]) => url === "/api/auth/me")).toBe(true)
    })
    // Let the answer about who is signed in land.
    await act(() => new Promise((resolve) => setTimeout(resolve, 50)))
    expect(screen.queryByTestId("egress-policy-edit")).not.toBeInTheDocument()
  })
})
