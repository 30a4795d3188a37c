import { Boxes, GitBranch, SquareTerminal } from "lucide-react"
import { Link } from "react-router"

import { EmptyState, ErrorState } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Skeleton } from "@/components/ui/skeleton"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"
import { useNow } from "@/hooks/useNow"
import { formatDateTime, pluralize } from "@/lib/format"
import { AgentBadge } from "@/features/agents/AgentBadge"
import { useEnvironments } from "@/features/environments/hooks"
import { ActivityBadge } from "@/features/sessions/ActivityBadge"
import {
  attentionGroups,
  durationSince,
  needsYouCount,
  sessionsForAttention,
  type SessionAndEnvironment,
} from "@/features/sessions/activity"

/** `/attention`: every session of the user, those that need the user first. */
export function AttentionPage() {
  const environments = useEnvironments()
  const count = needsYouCount(environments.data)
  useDocumentTitle(count > 0 ? `(${count}) Attention` : "Attention")
  const now = useNow(true)
  const sorted = sessionsForAttention(environments.data ?? [])

  return (
    <div className="space-y-6" data-testid="attention-page">
      <div className="space-y-1">
        <h1 className="text-2xl font-semibold tracking-tight">Attention</h1>
        <p className="text-muted-foreground text-sm">
          Every session in every environment: those asking you something first, then those at work, then the rest.
        </p>
      </div>

      {environments.isPending ? (
        <div className="divide-y rounded-xl border" aria-busy="true" aria-label="Loading sessions">
          {[0, 1, 2].map((i) => (
            <div key={i} className="flex items-center gap-4 px-4 py-3">
              <Skeleton className="h-5 w-24 rounded-full" />
              <div className="flex-1 space-y-2">
                <Skeleton className="h-4 w-40" />
                <Skeleton className="h-3 w-64" />
              </div>
              <Skeleton className="h-8 w-20" />
            </div>
          ))}
        </div>
      ) : environments.isError ? (
        <ErrorState
          error={environments.error}
          title="Could not load your sessions"
          onRetry={() => void environments.refetch()}
        />
      ) : sorted.length === 0 ? (
        <EmptyState
          icon={<SquareTerminal />}
          title="No sessions yet"
          data-testid="attention-empty"
          action={
            <Button asChild variant="outline">
              <Link to="/">
                <Boxes aria-hidden />
                Go to your environments
              </Link>
            </Button>
          }
        >
          Sessions you start in an environment show up here with what they are doing, so you see at once which one
          waits for you.
        </EmptyState>
      ) : (
        attentionGroups(sorted).map((group) => (
          <section
            key={group.key}
            aria-labelledby={`attention-${group.key}`}
            data-testid="attention-group"
            data-group={group.key}
            className="space-y-2"
          >
            <h2 id={`attention-${group.key}`} className="text-muted-foreground text-sm font-medium">
              {group.title} <span className="font-normal">({pluralize(group.items.length, "session")})</span>
            </h2>
            <ul className="bg-card divide-y rounded-xl border">
              {group.items.map((item) => (
                <AttentionRow key={item.session.id} item={item} now={now} />
              ))}
            </ul>
          </section>
        ))
      )}
    </div>
  )
}

function AttentionRow({ item: { session, environment }, now }: { item: SessionAndEnvironment; now: number }) {
  const terminalPath = `/environments/${environment.id}/terminal/${session.id}`
  const { activity } = session
  return (
    <li
      data-testid="attention-row"
      data-session-id={session.id}
      data-session-name={session.name}
      data-state={activity.state}
      className="flex flex-col gap-2 px-4 py-3 sm:flex-row sm:items-center sm:gap-4"
    >
      <div className="flex shrink-0 items-center gap-2 sm:w-48">
        <ActivityBadge activity={activity} />
        <time
          dateTime={activity.since}
          title={`Since ${formatDateTime(activity.since)}`}
          className="text-muted-foreground text-xs tabular-nums"
          data-testid="attention-since"
        >
          {durationSince(activity.since, now)}
        </time>
      </div>
      <div className="min-w-0 flex-1 space-y-1">
        <div className="flex flex-wrap items-center gap-x-2.5 gap-y-1">
          <Link
            to={terminalPath}
            className="focus-visible:ring-ring/50 truncate rounded-sm font-medium outline-none hover:underline focus-visible:ring-[3px]"
          >
            {session.name}
          </Link>
          {session.sessionType === "agent" && <AgentBadge agentId={session.agentId} />}
        </div>
        <div className="text-muted-foreground flex flex-wrap items-center gap-x-3 gap-y-0.5 text-xs">
          <Link
            to={`/environments/${environment.id}`}
            className="focus-visible:ring-ring/50 hover:text-foreground truncate rounded-sm outline-none hover:underline focus-visible:ring-[3px]"
          >
            {environment.name}
          </Link>
          <span className="inline-flex min-w-0 items-center gap-1 font-mono" title="Branch">
            <GitBranch className="size-3 shrink-0" aria-hidden />
            <span className="sr-only">branch </span>
            <span className="truncate">{session.gitBranch}</span>
          </span>
        </div>
        {activity.detail && (
          <p className="text-foreground/80 truncate font-mono text-xs" data-testid="attention-detail" title={activity.detail}>
            {activity.detail}
          </p>
        )}
      </div>
      <Button size="sm" variant={activity.state === "permission" || activity.state === "waiting" ? "default" : "outline"} asChild>
        <Link to={terminalPath} data-testid="attention-open" aria-label={`Open the terminal of ${session.name}`}>
          <SquareTerminal aria-hidden />
          Open
        </Link>
      </Button>
    </li>
  )
}
