import { screen, waitFor } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import { Button } from "@/components/ui/button"
import { CreateEnvironmentDialog } from "@/features/environments/CreateEnvironmentDialog"
import { json, mockFetch, renderApp, signIn } from "@/test/render"

function open() {
  renderApp(<CreateEnvironmentDialog trigger={<Button data-testid="create-environment-button">New</Button>} />)
  return userEvent.setup()
}

describe("CreateEnvironmentDialog", () => {
  it("checks the name as it is typed and shows why it is not available", async () => {
    signIn()
    const fetchMock = mockFetch((url) =>
      url.startsWith("/api/environments/check-name/")
        ? json(200, { available: false, reason: "you already have an environment of this name" })
        : undefined,
    )
    const user = open()
    await user.click(screen.getByTestId("create-environment-button"))
    await user.type(screen.getByTestId("environment-name-input"), "my-app")
    expect(await screen.findByText("You already have an environment of this name")).toBeInTheDocument()
    const checks = fetchMock.mock.calls.filter(([url]) => url.startsWith("/api/environments/check-name/"))
    expect(checks.map(([url]) => url)).toEqual(["/api/environments/check-name/my-app"])
    expect(screen.getByTestId("create-environment-submit")).toBeDisabled()
    expect(screen.getByTestId("environment-name-input")).toHaveAttribute("aria-invalid", "true")
  })

  it("shows the server's error next to each field it names", async () => {
    signIn()
    mockFetch((url, init) => {
      if (url.startsWith("/api/environments/check-name/")) return json(200, { available: true })
      if (url === "/api/environments" && init?.method === "POST") {
        return json(422, {
          error: "repositoryUrl scheme ftp:// is not supported; use https:// or ssh://",
          code: "invalid_input",
          details: {
            fields: {
              repositoryUrl: "repositoryUrl scheme ftp:// is not supported; use https:// or ssh://",
              branch: 'branch "a..b" is not a valid git branch name',
            },
          },
        })
      }
      return undefined
    })
    const user = open()
    await user.click(screen.getByTestId("create-environment-button"))
    await user.type(screen.getByTestId("environment-name-input"), "my-app")
    await user.type(screen.getByTestId("environment-repository-input"), "ftp://x")
    await user.type(screen.getByTestId("environment-branch-input"), "a..b")
    await waitFor(() => {
      expect(screen.getByText("Available")).toBeInTheDocument()
    })
    await user.click(screen.getByTestId("create-environment-submit"))
    expect(await screen.findByTestId("environment-repository-message")).toHaveTextContent(
      "repositoryUrl scheme ftp:// is not supported",
    )
    expect(screen.getByTestId("environment-branch-message")).toHaveTextContent('Branch "a..b" is not a valid git branch name')
    expect(screen.getByTestId("environment-branch-input")).toHaveAttribute("aria-invalid", "true")
    // Editing a field clears its error.
    await user.type(screen.getByTestId("environment-branch-input"), "x")
    expect(screen.getByTestId("environment-branch-message")).not.toHaveAttribute("data-kind", "error")
  })

  it("fills the repository and branch from a GitHub repository picked from a searchable list", async () => {
    signIn()
    const repos = (page: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        fullName: `ada/repo-${page}-${i}`,
        cloneUrl: `https://github.com/ada/repo-${page}-${i}.git`,
        private: i === 0,
        defaultBranch: i === 0 ? "trunk" : "main",
      }))
    const fetchMock = mockFetch((url) => {
      if (url === "/api/auth/github/status") return json(200, { connected: true, username: "ada" })
      if (url === "/api/auth/github/repos?page=1&perPage=30") return json(200, { repositories: repos(1, 30), hasMore: true })
      if (url === "/api/auth/github/repos?page=2&perPage=30") return json(200, { repositories: repos(2, 3), hasMore: false })
      if (url.startsWith("/api/environments/check-name/")) return json(200, { available: true })
      return undefined
    })
    const user = open()
    await user.click(screen.getByTestId("create-environment-button"))
    await user.click(await screen.findByTestId("github-repo-picker-toggle"))
    expect(await screen.findAllByTestId("github-repo-option")).toHaveLength(30)

    await user.type(screen.getByTestId("github-repo-search"), "repo-2-")
    expect(screen.getByTestId("github-repo-none")).toHaveTextContent("None of the 30 loaded so far matches")
    await user.click(screen.getByTestId("github-repo-more"))
    await waitFor(() => {
      expect(screen.getAllByTestId("github-repo-option")).toHaveLength(3)
    })
    expect(fetchMock.mock.calls.map(([url]) => url)).toContain("/api/auth/github/repos?page=2&perPage=30")
    expect(screen.queryByTestId("github-repo-more")).not.toBeInTheDocument()

    await user.click(screen.getByRole("button", { name: /ada\/repo-2-0/ }))
    expect(screen.getByTestId("environment-repository-input")).toHaveValue("https://github.com/ada/repo-2-0.git")
    expect(screen.getByTestId("environment-branch-input")).toHaveValue("trunk")
    expect(screen.getByTestId("environment-name-input")).toHaveValue("repo-2-0")
    // The list closes; a URL can still be typed by hand.
    expect(screen.queryByTestId("github-repo-option")).not.toBeInTheDocument()
    await user.clear(screen.getByTestId("environment-repository-input"))
    await user.type(screen.getByTestId("environment-repository-input"), "git@example.com:x/y.git")
    expect(screen.getByTestId("environment-repository-input")).toHaveValue("git@example.com:x/y.git")
  })

  it("leaves the branch to the server for an empty repository", async () => {
    signIn()
    mockFetch((url) => {
      if (url === "/api/auth/github/status") return json(200, { connected: true, username: "ada" })
      if (url.startsWith("/api/auth/github/repos")) {
        return json(200, {
          repositories: [{ fullName: "ada/empty", cloneUrl: "https://github.com/ada/empty.git", private: false }],
          hasMore: false,
        })
      }
      if (url.startsWith("/api/environments/check-name/")) return json(200, { available: true })
      return undefined
    })
    const user = open()
    await user.click(screen.getByTestId("create-environment-button"))
    await user.type(screen.getByTestId("environment-branch-input"), "old")
    await user.click(await screen.findByTestId("github-repo-picker-toggle"))
    await user.click(await screen.findByTestId("github-repo-option"))
    expect(screen.getByTestId("environment-repository-input")).toHaveValue("https://github.com/ada/empty.git")
    expect(screen.getByTestId("environment-branch-input")).toHaveValue("")
  })

  it("sends an egress policy chosen under Advanced, and shows the server's message about a host", async () => {
    signIn()
    const posted: unknown[] = []
    const message = "egressPolicy.hosts[1]: 'github.com:22' has a port (:22); write the host alone: github.com"
    mockFetch((url, init) => {
      if (url.startsWith("/api/environments/check-name/")) return json(200, { available: true })
      if (url === "/api/environments" && init?.method === "POST") {
        const body = JSON.parse(init.body as string) as { egressPolicy?: { hosts: string[] } }
        posted.push(body)
        if (body.egressPolicy?.hosts.includes("gitlab.com")) {
          return json(422, { error: message, code: "invalid_input", details: { fields: { "egressPolicy.hosts": message } } })
        }
        return json(201, { id: "e1", name: "my-app" })
      }
      return undefined
    })
    const user = open()
    await user.click(screen.getByTestId("create-environment-button"))
    await user.type(screen.getByTestId("environment-name-input"), "my-app")
    expect(screen.getByTestId("create-environment-advanced")).toHaveTextContent("Internet: open")
    await user.click(screen.getByTestId("create-environment-advanced"))
    await user.click(screen.getByTestId("create-egress-mode-allowlist"))
    await user.click(screen.getByTestId("create-egress-hosts-input"))
    await user.paste("github.com\ngitlab.com")
    await waitFor(() => {
      expect(screen.getByText("Available")).toBeInTheDocument()
    })
    await user.click(screen.getByTestId("create-environment-submit"))
    expect(await screen.findByTestId("create-egress-hosts-message")).toHaveTextContent(message)
    expect(posted).toEqual([
      { name: "my-app", egressPolicy: { mode: "allowlist", hosts: ["github.com", "gitlab.com"] } },
    ])
    expect(screen.queryByTestId("create-environment-error")).not.toBeInTheDocument()

    await user.clear(screen.getByTestId("create-egress-hosts-input"))
    await user.paste("github.com")
    await user.click(screen.getByTestId("create-environment-submit"))
    await waitFor(() => {
      expect(posted).toHaveLength(2)
    })
    expect(posted[1]).toEqual({ name: "my-app", egressPolicy: { mode: "allowlist", hosts: ["github.com"] } })
  })

  it("sends no egress policy for the default, open", async () => {
    signIn()
    const posted: unknown[] = []
    mockFetch((url, init) => {
      if (url.startsWith("/api/environments/check-name/")) return json(200, { available: true })
      if (url === "/api/environments" && init?.method === "POST") {
        posted.push(JSON.parse(init.body as string))
        return json(201, { id: "e1", name: "my-app" })
      }
      return undefined
    })
    const user = open()
    await user.click(screen.getByTestId("create-environment-button"))
    await user.type(screen.getByTestId("environment-name-input"), "my-app")
    await user.click(screen.getByTestId("create-environment-advanced"))
    expect(screen.getByTestId("create-egress-mode-open")).toBeChecked()
    await waitFor(() => {
      expect(screen.getByText("Available")).toBeInTheDocument()
    })
    await user.click(screen.getByTestId("create-environment-submit"))
    await waitFor(() => {
      expect(posted).toEqual([{ name: "my-app" }])
    })
  })

  it("points to the settings when GitHub is not linked", async () => {
    signIn()
    mockFetch((url) => (url === "/api/auth/github/status" ? json(200, { connected: false }) : undefined))
    const user = open()
    await user.click(screen.getByTestId("create-environment-button"))
    expect(await screen.findByTestId("github-repo-hint")).toHaveTextContent("Link GitHub to pick from your repositories")
    expect(screen.queryByTestId("github-repo-picker")).not.toBeInTheDocument()
  })
})
