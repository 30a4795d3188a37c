// The devcontainer of each workspace whose branch has a devcontainer.json: its status, what
// the file asks that is not applied, its ports, its error and its progress log, kept fresh
// by the `workspace.devcontainer` events.

import { useQuery } from "@tanstack/react-query"

import { apiCalls } from "@/lib/api/endpoints"
import type { Devcontainer } from "@/lib/api/types"
import { FALLBACK_POLL_MS, useIsLive } from "@/lib/events/live"
import { queryKeys } from "@/lib/queries"

const LABELS: Record<string, string> = {
  reading: "reading devcontainer.json",
  building: "building its image",
  postCreate: "running postCreateCommand",
  postStart: "running postStartCommand",
  ready: "ready",
  invalid: "devcontainer.json is not valid",
  failed: "failed",
}

/** Lines of a log shown at most (the newest). */
const SHOWN_LINES = 300

function useDevcontainers(environmentId: string) {
  const live = useIsLive()
  return useQuery({
    queryKey: queryKeys.devcontainers(environmentId),
    queryFn: ({ signal }) => apiCalls.getDevcontainers(environmentId, signal),
    refetchInterval: live ? false : FALLBACK_POLL_MS,
  })
}

export function Devcontainers({ environmentId }: { environmentId: string }) {
  const { data } = useDevcontainers(environmentId)
  if (!data || data.length === 0) return null
  return (
    <div className="space-y-3" data-testid="devcontainers">
      {data.map((d) => (
        <DevcontainerCard key={d.workspaceId} devcontainer={d} />
      ))}
    </div>
  )
}

export function DevcontainerCard({ devcontainer: d }: { devcontainer: Devcontainer }) {
  const failed = d.status === "invalid" || d.status === "failed"
  const lines = d.log.slice(-SHOWN_LINES)
  return (
    <section className="rounded-md border p-3 text-sm" data-testid="devcontainer" data-status={d.status}>
      <h2 className="font-medium">
        Devcontainer of <span className="font-mono">{d.branch ?? d.workspaceId}</span>
        {d.config?.name ? ` (${d.config.name})` : ""}:{" "}
        <span className={failed ? "text-destructive" : "text-muted-foreground"} data-testid="devcontainer-status">
          {LABELS[d.status] ?? d.status}
        </span>
      </h2>
      {d.error && (
        <p className="text-destructive mt-1" role="alert" data-testid="devcontainer-error">
          {d.error}
        </p>
      )}
      {d.forwardPorts.length > 0 && (
        <p className="text-muted-foreground mt-1" data-testid="devcontainer-ports">
          Ports: {d.forwardPorts.map((p) => (p.host ? `${p.host}:${p.port}` : String(p.port))).join(", ")}
        </p>
      )}
      {d.unsupported.length > 0 && (
        <div className="mt-1">
          <p className="text-warning">Not applied:</p>
          <ul className="list-disc pl-5" data-testid="devcontainer-unsupported">
            {d.unsupported.map((u) => (
              <li key={u.field}>
                <span className="font-mono">{u.field}</span>: {u.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
      {lines.length > 0 && (
        <details className="mt-2" open={d.status !== "ready"}>
          <summary className="cursor-pointer">Progress log</summary>
          <pre
            className="bg-muted mt-1 max-h-64 overflow-auto rounded p-2 font-mono text-xs whitespace-pre-wrap"
            data-testid="devcontainer-log"
          >
            {(d.logCut || d.log.length > lines.length ? "…\n" : "") + lines.map((l) => l.line).join("\n")}
          </pre>
        </details>
      )}
    </section>
  )
}
