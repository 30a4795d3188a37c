import { CircleAlert, GitBranch, SquareTerminal } from "lucide-react"
import { Link } from "react-router"

import { EnvironmentStatusBadge, SessionStatusBadge } from "@/components/StatusBadge"
import { Card, CardContent, CardFooter, CardHeader, CardTitle } from "@/components/ui/card"
import type { Environment, Workspace } from "@/lib/api/types"
import { diskUse, pluralize, shortRepository, timeAgo } from "@/lib/format"
import { EnvironmentActions } from "@/features/environments/EnvironmentActions"
import { branchesOf } from "@/features/sessions/branches"

const SHOWN_SESSIONS = 4

export function EnvironmentCard({ environment: env }: { environment: Environment }) {
  const branches = branchesOf(env)
  const shown = env.sessions.slice(0, SHOWN_SESSIONS)
  const hidden = env.sessions.length - shown.length

  return (
    <Card
      data-testid="environment-card"
      data-environment-id={env.id}
      data-environment-name={env.name}
      data-status={env.status}
      className="gap-4 py-5 transition-shadow hover:shadow-md"
    >
      <CardHeader className="px-5">
        <div className="flex items-start justify-between gap-3">
          <div className="min-w-0 space-y-1">
            <CardTitle className="truncate text-base">
              <Link
                to={`/environments/${env.id}`}
                data-testid="environment-link"
                className="focus-visible:ring-ring/50 rounded-sm outline-none hover:underline focus-visible:ring-[3px]"
              >
                {env.name}
              </Link>
            </CardTitle>
            <p className="text-muted-foreground truncate text-xs" title={env.repositoryUrl ?? undefined}>
              {env.repositoryUrl ? shortRepository(env.repositoryUrl) : "Empty repository"}
            </p>
          </div>
          <EnvironmentStatusBadge status={env.status} data-testid="environment-status" />
        </div>
      </CardHeader>
      <CardContent className="flex-1 space-y-4 px-5">
        {env.status === "error" && env.error && (
          <p className="text-destructive flex items-start gap-1.5 text-sm" role="alert">
            <CircleAlert className="mt-0.5 size-4 shrink-0" aria-hidden />
            <span>{env.error}</span>
          </p>
        )}
        <div>
          <h3 className="text-muted-foreground mb-1.5 text-xs font-medium tracking-wide uppercase">
            {pluralize(branches.length, "branch", "branches")}
          </h3>
          <ul className="flex flex-wrap gap-1.5" aria-label="Branches">
            {branches.map((b) => (
              <li
                key={b.name}
                className="bg-muted inline-flex max-w-full items-center gap-1 rounded-md px-2 py-0.5 font-mono text-xs"
                title={b.workspace ? workspaceTitle(b.workspace) : "no workspace yet"}
              >
                <GitBranch className="text-muted-foreground size-3 shrink-0" aria-hidden />
                <span className="truncate">{b.name}</span>
                {b.isDefault && <span className="text-muted-foreground">· default</span>}
              </li>
            ))}
          </ul>
        </div>
        <div>
          <h3 className="text-muted-foreground mb-1.5 text-xs font-medium tracking-wide uppercase">
            {pluralize(env.sessions.length, "session")}
          </h3>
          {env.sessions.length === 0 ? (
            <p className="text-muted-foreground text-sm">No sessions yet.</p>
          ) : (
            <ul className="divide-y rounded-md border" aria-label="Sessions">
              {shown.map((s) => (
                <li
                  key={s.id}
                  data-testid="environment-card-session"
                  data-session-id={s.id}
                  className="flex items-center gap-2 px-2.5 py-1.5 text-sm"
                >
                  <SessionStatusBadge status={s.status} className="sr-only" />
                  <span
                    className={
                      s.status === "active"
                        ? "bg-success size-2 shrink-0 rounded-full"
                        : s.status === "dead"
                          ? "bg-destructive size-2 shrink-0 rounded-full"
                          : "bg-muted-foreground/50 size-2 shrink-0 rounded-full"
                    }
                    aria-hidden
                  />
                  <span className="min-w-0 flex-1 truncate">
                    {s.name}
                    <span className="text-muted-foreground ml-1.5 font-mono text-xs">{s.gitBranch}</span>
                  </span>
                  <span className="text-muted-foreground hidden text-xs sm:inline">
                    {timeAgo(s.lastActivity ?? s.updatedAt)}
                  </span>
                  <Link
                    to={`/environments/${env.id}/terminal/${s.id}`}
                    data-testid="open-terminal-link"
                    aria-label={`Open the terminal of ${s.name}`}
                    className="text-muted-foreground hover:text-foreground focus-visible:ring-ring/50 rounded-sm p-0.5 outline-none focus-visible:ring-[3px]"
                  >
                    <SquareTerminal className="size-4" aria-hidden />
                  </Link>
                </li>
              ))}
              {hidden > 0 && (
                <li className="px-2.5 py-1.5 text-xs">
                  <Link to={`/environments/${env.id}`} className="text-muted-foreground hover:underline">
                    and {pluralize(hidden, "more session")}
                  </Link>
                </li>
              )}
            </ul>
          )}
        </div>
      </CardContent>
      <CardFooter className="justify-between gap-2 border-t px-5 pt-4 [.border-t]:pt-4">
        <span className="text-muted-foreground truncate text-xs">Updated {timeAgo(env.updatedAt)}</span>
        <EnvironmentActions environment={env} compact />
      </CardFooter>
    </Card>
  )
}

/** `workspace running · 1.2 GiB of 10 GiB`, and the server's reason when it stopped it. */
function workspaceTitle(w: Workspace): string {
  return [`workspace ${w.status}`, diskUse(w), w.error].filter(Boolean).join(" · ")
}
