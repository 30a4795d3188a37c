import { act, screen, waitFor, within } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import type { Environment, EnvironmentUsage, SizeInput, User } from "@/lib/api/types"
import { ResourcesCard, SizeSummary } from "@/features/environments/EnvironmentSize"
import { cpusProblem, describeSize, diskProblem, memoryProblem, parseSize } from "@/features/environments/size"
import { json, mockFetch, renderApp, signIn } from "@/test/render"
import { DEFAULT_SIZE } from "@/test/fixtures"

const MiB = 2 ** 20
const GiB = 2 ** 30

const environment = (status = "running"): Environment => ({
  id: "env-1",
  userId: "ada",
  name: "shop",
  repositoryUrl: null,
  branch: "main",
  status,
  egressPolicy: { mode: "open", hosts: [] },
  idleStopMinutes: 60,
  size: {
    ...DEFAULT_SIZE,
    effective: { memoryBytes: GiB, cpus: 0.5, diskBytes: 10 * GiB },
    setting: { memoryBytes: GiB, cpus: null, diskBytes: null },
    maxima: { memoryBytes: 2 * GiB, cpus: 2, diskBytes: 40 * GiB },
  },
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

const usage: EnvironmentUsage = {
  size: { memoryBytes: GiB, cpus: 0.5, diskBytes: 10 * GiB },
  workspaces: [
    {
      workspaceId: "w1",
      branch: "main",
      status: "running",
      memoryBytes: 120 * MiB,
      memoryLimitBytes: GiB,
      diskBytes: 9.5 * GiB,
      diskLimitBytes: 10 * GiB,
      diskMeasuredAt: "2026-01-01T00:00:00Z",
    },
    { workspaceId: "w2", branch: "feature", status: "stopped" },
  ],
}

/** Answers who is signed in and the usage, and records each PUT of the size with `answer`. */
function server(me: string, answer: (size: SizeInput) => Response = () => json(200, environment())) {
  const sent: SizeInput[] = []
  const fetchMock = mockFetch((url, init) => {
    if (url === "/api/auth/me") return json(200, person(me))
    if (url === "/api/environments/env-1/usage") return json(200, usage)
    if (url === "/api/environments/env-1/size" && init?.method === "PUT") {
      const size = JSON.parse(init.body as string) as SizeInput
      sent.push(size)
      return answer(size)
    }
    return undefined
  })
  return { sent, fetchMock }
}

function show(ui: React.ReactElement) {
  signIn()
  renderApp(ui)
  return userEvent.setup()
}

describe("sizes", () => {
  it("reads sizes as people write them and checks them against the maxima", () => {
    expect(parseSize("512m")).toBe(512 * MiB)
    expect(parseSize("1.5 GiB")).toBe(1.5 * GiB)
    expect(parseSize("2g")).toBe(2 * GiB)
    expect(parseSize("1073741824")).toBe(GiB)
    expect(parseSize("lots")).toBeNull()
    expect(memoryProblem("3g", 2 * GiB)).toBe("At most 2 GiB, the maximum of this server.")
    expect(memoryProblem("32m", 2 * GiB)).toBe("A workspace needs at least 64 MiB.")
    expect(memoryProblem("1g", 2 * GiB)).toBeNull()
    expect(cpusProblem("4", 2)).toBe("At most 2 CPUs, the maximum of this server.")
    expect(cpusProblem("a", 2)).toContain("number of CPUs")
    expect(diskProblem("100g", null)).toBeNull()
    expect(diskProblem("100g", 40 * GiB)).toBe("At most 40 GiB, the maximum of this server.")
    expect(describeSize({ memoryBytes: GiB, cpus: 2, diskBytes: null })).toBe("1 GiB · 2 CPUs · no disk cap")
  })
})

describe("SizeSummary", () => {
  it("shows the size and lets the owner change it within the maxima", async () => {
    const { sent } = server("ada")
    const user = show(
      <dl>
        <SizeSummary environment={environment()} />
      </dl>,
    )
    expect(screen.getByTestId("environment-size-summary")).toHaveTextContent("1 GiB · 0.5 CPU · 10 GiB disk")
    await user.click(await screen.findByTestId("environment-size-edit"))
    const memory = screen.getByTestId("size-memoryBytes-input")
    expect(memory).toHaveValue("1g")
    expect(screen.getByTestId("size-cpus-default")).toBeChecked()
    await user.clear(memory)
    await user.type(memory, "3g")
    expect(screen.getByTestId("size-memoryBytes-input-message")).toHaveTextContent(
      "At most 2 GiB, the maximum of this server.",
    )
    await user.click(screen.getByTestId("environment-size-save"))
    expect(sent).toEqual([])
    await user.clear(memory)
    await user.type(memory, "1536m")
    await user.click(screen.getByTestId("size-cpus-default"))
    const cpus = screen.getByTestId("size-cpus-input")
    await user.clear(cpus)
    await user.type(cpus, "1.5")
    await user.click(screen.getByTestId("environment-size-save"))
    await waitFor(() => {
      expect(sent).toEqual([{ memoryBytes: 1536 * MiB, cpus: 1.5, diskBytes: null }])
    })
    await waitFor(() => {
      expect(screen.queryByTestId("environment-size-dialog")).not.toBeInTheDocument()
    })
  })

  it("shows the server's refusal on its field", async () => {
    const { sent } = server("ada", () =>
      json(422, {
        error: "diskBytes: 50 GiB is over the maximum of 40 GiB",
        code: "invalid_input",
        details: {
          fields: {
            diskBytes:
              "diskBytes: 50 GiB is over the maximum of 40 GiB (42949672960 bytes) that this server allows (SANDBOX_DISK_MAX); ask an admin to raise it",
          },
        },
      }),
    )
    const user = show(
      <dl>
        <SizeSummary environment={environment()} />
      </dl>,
    )
    await user.click(await screen.findByTestId("environment-size-edit"))
    await user.click(screen.getByTestId("size-diskBytes-default"))
    await user.click(screen.getByTestId("environment-size-save"))
    await waitFor(() => {
      expect(sent).toHaveLength(1)
    })
    expect(await screen.findByTestId("size-diskBytes-input-message")).toHaveTextContent(
      "50 GiB is over the maximum of 40 GiB",
    )
  })

  it("shows the size without a way to change it to another user", async () => {
    const { fetchMock } = server("bob")
    show(
      <dl>
        <SizeSummary environment={environment()} />
      </dl>,
    )
    await waitFor(() => {
      expect(fetchMock.mock.calls.some(([url]) => url === "/api/auth/me")).toBe(true)
    })
    await act(() => new Promise((resolve) => setTimeout(resolve, 50)))
    expect(screen.queryByTestId("environment-size-edit")).not.toBeInTheDocument()
  })
})

describe("ResourcesCard", () => {
  it("shows each workspace's memory and disk next to their limits", async () => {
    server("ada")
    show(<ResourcesCard environment={environment()} />)
    const rows = await screen.findAllByTestId("resources-workspace")
    expect(rows.map((r) => r.dataset.branch)).toEqual(["main", "feature"])
    const main = rows[0]!
    expect(within(main).getByTestId("resources-memory")).toHaveTextContent("120 MiB of 1 GiB")
    expect(within(main).getByTestId("resources-memory")).toHaveAttribute("data-full", "false")
    expect(within(main).getByTestId("resources-disk")).toHaveTextContent("9.5 GiB of 10 GiB")
    expect(within(main).getByTestId("resources-disk")).toHaveAttribute("data-full", "true")
    expect(within(rows[1]!).getByTestId("resources-memory-unknown")).toHaveTextContent(
      "not running (stopped)",
    )
  })

  it("is not shown while the environment is stopped", () => {
    const { fetchMock } = server("ada")
    show(<ResourcesCard environment={environment("stopped")} />)
    expect(screen.queryByTestId("resources-card")).not.toBeInTheDocument()
    expect(fetchMock.mock.calls.some(([url]) => url.endsWith("/usage"))).toBe(false)
  })
})
