import { screen } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import { SignInPage } from "@/features/auth/SignInPage"
import { readTokens } from "@/lib/auth/tokens"
import { json, mockFetch, renderApp } from "@/test/render"

describe("SignInPage", () => {
  it("says how long to wait after too many attempts", async () => {
    mockFetch((url) =>
      url === "/api/auth/login"
        ? json(429, { error: "too many failed attempts; try again in 840 seconds", code: "too_many_attempts" }, { "Retry-After": "840" })
        : undefined,
    )
    renderApp(<SignInPage />, { path: "/login", route: "/login" })
    const user = userEvent.setup()
    await user.type(screen.getByTestId("signin-email"), "ada@example.com")
    await user.type(screen.getByTestId("signin-password"), "whatever-it-is")
    await user.click(screen.getByTestId("signin-submit"))
    expect(await screen.findByTestId("signin-error")).toHaveTextContent("Too many failed attempts; try again in 840 seconds")
    expect(readTokens()).toBeNull()
  })

  it("stores the tokens of a successful sign-in", async () => {
    mockFetch((url) =>
      url === "/api/auth/login"
        ? json(200, {
            user: { id: "u", email: "ada@example.com", name: "Ada", isAdmin: false, createdAt: "2026-01-01T00:00:00Z" },
            accessToken: "a1",
            refreshToken: "r1",
            expiresIn: 900,
          })
        : undefined,
    )
    renderApp(<SignInPage />, { path: "/login", route: "/login" })
    const user = userEvent.setup()
    await user.type(screen.getByTestId("signin-email"), "ada@example.com")
    await user.type(screen.getByTestId("signin-password"), "correct-password")
    await user.click(screen.getByTestId("signin-submit"))
    expect(await screen.findByText("home page")).toBeInTheDocument()
    expect(readTokens()).toMatchObject({ accessToken: "a1", refreshToken: "r1" })
  })
})
