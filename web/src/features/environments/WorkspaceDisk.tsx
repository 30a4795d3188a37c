import { CircleAlert, HardDrive } from "lucide-react"

import type { Environment, Workspace } from "@/lib/api/types"
import { diskUse, formatDateTime } from "@/lib/format"
import { cn } from "@/lib/utils"

/** Share of the cap from which a workspace's disk use is shown as a warning. */
const NEARLY_FULL = 0.9

/** A workspace's disk use, `1.2 GiB of 10 GiB`, in the warning colour near its cap. */
export function WorkspaceDisk({ workspace, className }: { workspace: Workspace | undefined; className?: string }) {
  const text = workspace ? diskUse(workspace) : null
  if (!workspace || !text) return null
  const full =
    workspace.diskLimitBytes != null &&
    workspace.diskBytes != null &&
    workspace.diskBytes >= workspace.diskLimitBytes * NEARLY_FULL
  return (
    <span
      className={cn("inline-flex items-center gap-1 text-xs", full ? "text-warning" : "text-muted-foreground", className)}
      title={`Disk of this workspace (worktree, container and repository), measured ${formatDateTime(workspace.diskMeasuredAt)}`}
      data-testid="workspace-disk"
    >
      <HardDrive className="size-3.5" aria-hidden />
      <span>{text}</span>
    </span>
  )
}

/** Workspaces the server stopped on its own (over their disk cap, for one) while the
 * environment runs, each with the server's reason, which says how to get it back. */
export function StoppedWorkspaces({ environment: env }: { environment: Environment }) {
  if (env.status !== "running") return null
  const stopped = env.workspaces.filter((w) => w.status === "stopped" && w.error)
  if (stopped.length === 0) return null
  return (
    <ul className="space-y-3" aria-label="Stopped workspaces">
      {stopped.map((w) => (
        <li
          key={w.id}
          role="alert"
          className="border-warning/30 bg-warning/5 flex items-start gap-3 rounded-lg border p-4 text-sm"
          data-testid="workspace-stopped"
          data-branch={w.branch}
        >
          <CircleAlert className="text-warning mt-0.5 size-4 shrink-0" aria-hidden />
          <div className="space-y-1">
            <p className="font-medium">
              The workspace of <span className="font-mono">{w.branch}</span> was stopped
            </p>
            <p className="text-muted-foreground">{w.error}</p>
          </div>
        </li>
      ))}
    </ul>
  )
}
