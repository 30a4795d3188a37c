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
})
