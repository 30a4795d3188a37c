import { render, screen } from "@testing-library/react"
import { describe, expect, it } from "vitest"

import type { Environment, Workspace } from "@/lib/api/types"
import { StoppedWorkspaces, WorkspaceDisk } from "@/features/environments/WorkspaceDisk"
import { DEFAULT_SIZE } from "@/test/fixtures"

const GiB = 2 ** 30

function workspace(fields: Partial<Workspace>): Workspace {
  return { id: "w1", branch: "main", status: "running", ...fields }
}

function environment(workspaces: Workspace[], status = "running"): Environment {
  return {
    id: "e1",
    userId: "u1",
    name: "app",
    branch: "main",
    status,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    workspaces,
    sessions: [],
    egressPolicy: { mode: "open", hosts: [] },
    idleStopMinutes: 60,
    size: DEFAULT_SIZE,
  }
}

describe("WorkspaceDisk", () => {
  it("shows the disk use against the cap, as a warning near it", () => {
    const { rerender } = render(
      <WorkspaceDisk workspace={workspace({ diskBytes: 1.2 * GiB, diskLimitBytes: 10 * GiB })} />,
    )
    expect(screen.getByTestId("workspace-disk")).toHaveTextContent("1.2 GiB of 10 GiB")
    expect(screen.getByTestId("workspace-disk")).not.toHaveClass("text-warning")
    rerender(<WorkspaceDisk workspace={workspace({ diskBytes: 9.5 * GiB, diskLimitBytes: 10 * GiB })} />)
    expect(screen.getByTestId("workspace-disk")).toHaveClass("text-warning")
  })

  it("shows nothing before the first measurement", () => {
    render(<WorkspaceDisk workspace={workspace({})} />)
    expect(screen.queryByTestId("workspace-disk")).toBeNull()
  })
})

describe("StoppedWorkspaces", () => {
  const reason =
    "stopped because it used 10.3 GiB of disk, over its cap of 10 GiB (SANDBOX_DISK_LIMIT): worktree 10 GiB, rest of the container 0.2 GiB, repository 0.1 GiB. Open one of its sessions to start it again and free space at once, or ask an admin to raise the cap"

  it("says which workspace the server stopped and why", () => {
    render(
      <StoppedWorkspaces
        environment={environment([
          workspace({}),
          workspace({ id: "w2", branch: "feature", status: "stopped", error: reason }),
        ])}
      />,
    )
    const notices = screen.getAllByTestId("workspace-stopped")
    expect(notices).toHaveLength(1)
    expect(notices[0]).toHaveAttribute("data-branch", "feature")
    expect(notices[0]).toHaveTextContent("The workspace of feature was stopped")
    expect(notices[0]).toHaveTextContent(reason)
  })

  it("stays quiet for workspaces stopped with their environment", () => {
    render(<StoppedWorkspaces environment={environment([workspace({ status: "stopped" })], "stopped")} />)
    expect(screen.queryByTestId("workspace-stopped")).toBeNull()
  })
})
