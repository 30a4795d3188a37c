import { act, screen, waitFor } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import type { Environment, User } from "@/lib/api/types"
import { IdleStopSummary } from "@/features/environments/IdleStop"
import { describeIdle, minutesProblem } from "@/features/environments/idle"
import { json, mockFetch, renderApp, signIn } from "@/test/render"
import { DEFAULT_SIZE } from "@/test/fixtures"

const environment = (idleStopMinutes: number): Environment => ({
  id: "env-1",
  userId: "ada",
  name: "shop",
  repositoryUrl: null,
  branch: "main",
  status: "running",
  egressPolicy: { mode: "open", hosts: [] },
  idleStopMinutes,
  size: DEFAULT_SIZE,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  workspaces: [],
  sessions: [],
})

const person = (id: string): User => ({
  id,
  email: `${id}@example.com`,
  name: id,
  isAdmin: false,
  createdAt: "2026-01-01T00:00:00Z",
})

function show(env: Environment) {
  signIn()
  renderApp(
    <dl>
      <IdleStopSummary environment={env} />
    </dl>,
  )
  return userEvent.setup()
}

/** Answers who is signed in, and records each PUT of the idle stop with `answer`. */
function server(me: string, answer: (minutes: number) => Response = (m) => json(200, environment(m))) {
  const sent: number[] = []
  const fetchMock = mockFetch((url, init) => {
    if (url === "/api/auth/me") return json(200, person(me))
    if (url === "/api/environments/env-1/idle-stop" && init?.method === "PUT") {
      const { minutes } = JSON.parse(init.body as string) as { minutes: number }
      sent.push(minutes)
      return answer(minutes)
    }
    return undefined
  })
  return { sent, fetchMock }
}

describe("idle stop", () => {
  it("says durations as the server does", () => {
    expect(describeIdle(1)).toBe("1 minute")
    expect(describeIdle(45)).toBe("45 minutes")
    expect(describeIdle(60)).toBe("1 hour")
    expect(describeIdle(90)).toBe("90 minutes")
    expect(describeIdle(480)).toBe("8 hours")
    expect(minutesProblem("15")).toBeNull()
    expect(minutesProblem("1.5")).toBe("Write a whole number of minutes.")
    expect(minutesProblem("0")).toContain("From 1 to 10080")
    expect(minutesProblem("10081")).toContain("From 1 to 10080")
  })

  it("lets the owner change the minutes, and checks them first", async () => {
    const { sent } = server("ada")
    const user = show(environment(60))
    expect(screen.getByTestId("idle-stop-summary")).toHaveTextContent("Stops after 1 hour idle")
    await user.click(await screen.findByTestId("idle-stop-edit"))
    expect(screen.getByTestId("idle-stop-enabled")).toBeChecked()
    const input = screen.getByTestId("idle-stop-minutes")
    expect(input).toHaveValue("60")
    await user.clear(input)
    await user.type(input, "abc")
    expect(screen.getByTestId("idle-stop-minutes-message")).toHaveTextContent("Write a whole number of minutes.")
    expect(input).toHaveAttribute("aria-invalid", "true")
    await user.click(screen.getByTestId("idle-stop-save"))
    expect(sent).toEqual([])
    await user.clear(input)
    await user.type(input, "180")
    expect(screen.getByTestId("idle-stop-minutes-message")).toHaveTextContent("Stops after 3 hours idle.")
    await user.click(screen.getByTestId("idle-stop-save"))
    await waitFor(() => {
      expect(sent).toEqual([180])
    })
    await waitFor(() => {
      expect(screen.queryByTestId("idle-stop-dialog")).not.toBeInTheDocument()
    })
  })

  it("turns it off with 0, and shows the server's refusal", async () => {
    const { sent } = server("ada", (m) =>
      m === 0
        ? json(409, { error: "the environment is being deleted; its settings no longer change", code: "not_ready" })
        : json(200, environment(m)),
    )
    const user = show(environment(60))
    await user.click(await screen.findByTestId("idle-stop-edit"))
    await user.click(screen.getByTestId("idle-stop-enabled"))
    expect(screen.queryByTestId("idle-stop-minutes")).not.toBeInTheDocument()
    await user.click(screen.getByTestId("idle-stop-save"))
    await waitFor(() => {
      expect(sent).toEqual([0])
    })
    expect(await screen.findByTestId("idle-stop-error")).toHaveTextContent("being deleted")
  })

  it("shows the setting without a way to change it to another user", async () => {
    const { fetchMock } = server("bob")
    show(environment(0))
    expect(screen.getByTestId("idle-stop-summary")).toHaveTextContent("Never stops when idle")
    await waitFor(() => {
      expect(fetchMock.mock.calls.some(([url]) => url === "/api/auth/me")).toBe(true)
    })
    await act(() => new Promise((resolve) => setTimeout(resolve, 50)))
    expect(screen.queryByTestId("idle-stop-edit")).not.toBeInTheDocument()
  })
})
