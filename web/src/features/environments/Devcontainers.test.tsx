import { render, screen } from "@testing-library/react"
import { describe, expect, it } from "vitest"

import { DevcontainerCard } from "@/features/environments/Devcontainers"
import type { Devcontainer } from "@/lib/api/types"

function devcontainer(fields: Partial<Devcontainer>): Devcontainer {
  return {
    workspaceId: "w1",
    branch: "main",
    status: "ready",
    unsupported: [],
    forwardPorts: [],
    log: [],
    logCut: false,
    ...fields,
  }
}

describe("DevcontainerCard", () => {
  it("shows the status, the ports, what is not applied and the log", () => {
    render(
      <DevcontainerCard
        devcontainer={devcontainer({
          status: "postCreate",
          forwardPorts: [{ port: 3000 }, { port: 5432, host: "db" }],
          unsupported: [{ field: "features", reason: "not supported" }],
          log: [
            { at: "2026-01-01T00:00:00Z", line: "running postCreateCommand" },
            { at: "2026-01-01T00:00:01Z", line: "[postCreateCommand] npm ci" },
          ],
        })}
      />,
    )
    expect(screen.getByTestId("devcontainer-status")).toHaveTextContent("running postCreateCommand")
    expect(screen.getByTestId("devcontainer-ports")).toHaveTextContent("3000, db:5432")
    expect(screen.getByTestId("devcontainer-unsupported")).toHaveTextContent("features: not supported")
    expect(screen.getByTestId("devcontainer-log")).toHaveTextContent("[postCreateCommand] npm ci")
    expect(screen.queryByTestId("devcontainer-error")).toBeNull()
  })

  it("shows an invalid file's error as an alert", () => {
    render(
      <DevcontainerCard
        devcontainer={devcontainer({
          status: "invalid",
          error: ".devcontainer/devcontainer.json: line 3, column 3: expected `,` or `}`",
        })}
      />,
    )
    expect(screen.getByRole("alert")).toHaveTextContent("line 3, column 3")
    expect(screen.getByTestId("devcontainer-status")).toHaveTextContent("not valid")
  })
})
