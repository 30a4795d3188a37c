import { act, screen, waitFor } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { afterEach, describe, expect, it, vi } from "vitest"

import { GitHubCard } from "@/features/github/GitHubCard"
import { json, mockFetch, renderApp, signIn } from "@/test/render"

afterEach(() => {
  vi.useRealTimers()
})

describe("GitHubCard", () => {
  it("shows the code, polls at the server's interval and ends linked", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    signIn()
    let linked = false
    const polls: number[] = []
    mockFetch((url) => {
      if (url === "/api/auth/github/status") return json(200, linked ? { connected: true, username: "ada" } : { connected: false })
      if (url === "/api/auth/github/initiate") {
        return json(200, {
          flowId: "flow-1",
          userCode: "WDJB-MJHT",
          verificationUri: "https://github.com/login/device",
          expiresIn: 900,
          interval: 5,
        })
      }
      if (url === "/api/auth/github/poll") {
        polls.push(Date.now())
        if (polls.length === 1) return json(200, { status: "pending", interval: 10 })
        linked = true
        return json(200, { status: "connected", username: "ada", interval: 10 })
      }
      return undefined
    })
    renderApp(<GitHubCard />)
    const user = userEvent.setup({ advanceTimers: (ms) => vi.advanceTimersByTime(ms) })
    await user.click(await screen.findByTestId("github-link-button"))

    expect(await screen.findByTestId("github-user-code")).toHaveTextContent("WDJB-MJHT")
    const link = screen.getByTestId("github-verification-link")
    expect(link).toHaveAttribute("href", "https://github.com/login/device")
    expect(link).toHaveAttribute("target", "_blank")
    expect(screen.getByTestId("github-status")).toHaveAttribute("data-state", "pending")
    expect(screen.getByTestId("github-status")).toHaveTextContent("checking every 5 s")

    await act(() => vi.advanceTimersByTimeAsync(4_900))
    expect(polls).toHaveLength(0)
    await act(() => vi.advanceTimersByTimeAsync(200))
    expect(polls).toHaveLength(1)
    // The answer asked for 10 s: no poll before then.
    await waitFor(() => {
      expect(screen.getByTestId("github-status")).toHaveTextContent("checking every 10 s")
    })
    await act(() => vi.advanceTimersByTimeAsync(9_500))
    expect(polls).toHaveLength(1)
    await act(() => vi.advanceTimersByTimeAsync(600))
    expect(polls).toHaveLength(2)
    expect(polls[1]! - polls[0]!).toBeGreaterThanOrEqual(10_000)

    await waitFor(() => {
      expect(screen.getByTestId("github-status")).toHaveAttribute("data-state", "connected")
    })
    expect(screen.getByTestId("github-username")).toHaveTextContent("ada")
  })

  it("says so when the code expired, and offers to start again", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    signIn()
    mockFetch((url) => {
      if (url === "/api/auth/github/status") return json(200, { connected: false })
      if (url === "/api/auth/github/initiate") {
        return json(200, { flowId: "f", userCode: "AAAA-BBBB", verificationUri: "https://github.com/login/device", expiresIn: 900, interval: 1 })
      }
      if (url === "/api/auth/github/poll") return json(200, { status: "expired", interval: 1 })
      return undefined
    })
    renderApp(<GitHubCard />)
    const user = userEvent.setup({ advanceTimers: (ms) => vi.advanceTimersByTime(ms) })
    await user.click(await screen.findByTestId("github-link-button"))
    await screen.findByTestId("github-user-code")
    await act(() => vi.advanceTimersByTimeAsync(1_100))
    await waitFor(() => {
      expect(screen.getByTestId("github-status")).toHaveAttribute("data-state", "expired")
    })
    expect(screen.getByTestId("github-link-button")).toHaveTextContent("Start again")
  })

  it("shows the server's sentence and no way to link when GitHub is not configured", async () => {
    signIn()
    mockFetch((url) => {
      if (url === "/api/auth/github/status") return json(200, { connected: false })
      if (url === "/api/auth/github/initiate") {
        return json(503, { error: "GitHub is not configured on this server", code: "unavailable" })
      }
      return undefined
    })
    renderApp(<GitHubCard />)
    const user = userEvent.setup()
    await user.click(await screen.findByTestId("github-link-button"))
    expect(await screen.findByTestId("github-status")).toHaveAttribute("data-state", "unavailable")
    expect(screen.getByTestId("github-status")).toHaveTextContent("GitHub is not configured on this server")
    expect(screen.getByTestId("github-link-button")).toBeDisabled()
  })

  it("unlinks after a confirmation", async () => {
    signIn()
    let linked = true
    const fetchMock = mockFetch((url, init) => {
      if (url === "/api/auth/github/status") return json(200, linked ? { connected: true, username: "ada" } : { connected: false })
      if (url === "/api/auth/github/disconnect" && init?.method === "DELETE") {
        linked = false
        return new Response(null, { status: 204 })
      }
      return undefined
    })
    renderApp(<GitHubCard />)
    const user = userEvent.setup()
    await user.click(await screen.findByTestId("github-unlink-button"))
    expect(fetchMock.mock.calls.some(([url]) => url === "/api/auth/github/disconnect")).toBe(false)
    await user.click(screen.getByTestId("confirm-button"))
    await waitFor(() => {
      expect(screen.getByTestId("github-status")).toHaveAttribute("data-state", "unlinked")
    })
  })
})
