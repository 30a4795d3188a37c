import { History, LoaderCircle } from "lucide-react"

import { ErrorState } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Skeleton } from "@/components/ui/skeleton"
import { formatDateTime, timeAgo } from "@/lib/format"
import { subject } from "@/features/git/files"
import { useGitLog } from "@/features/git/hooks"

/** The branch's commits, newest first, a page at a time. */
export function GitLog({ sessionId }: { sessionId: string }) {
  const log = useGitLog(sessionId)
  const commits = log.data?.pages.flatMap((page) => page.commits) ?? []

  return (
    <section aria-labelledby="git-log-title" className="space-y-2" data-testid="git-log">
      <h3 id="git-log-title" className="flex items-center gap-1.5 text-sm font-medium">
        <History className="text-muted-foreground size-4" aria-hidden />
        History
      </h3>
      {log.isPending ? (
        <div className="space-y-2" aria-busy="true" aria-label="Loading the history">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-9 w-full" />
          ))}
        </div>
      ) : log.isError ? (
        <ErrorState error={log.error} title="Could not load the history" onRetry={() => void log.refetch()} className="p-3" />
      ) : commits.length === 0 ? (
        <p className="text-muted-foreground text-sm" data-testid="git-log-empty">
          No commits yet on this branch.
        </p>
      ) : (
        <>
          <ol className="divide-y rounded-md border">
            {commits.map((c) => (
              <li
                key={c.hash}
                data-testid="git-log-entry"
                data-hash={c.hash}
                className="min-w-0 space-y-0.5 px-3 py-2"
                title={c.message}
              >
                <p className="truncate text-sm">{subject(c.message)}</p>
                <p className="text-muted-foreground flex min-w-0 items-center gap-1.5 text-xs">
                  <code className="text-foreground/80 shrink-0 font-mono">{c.hash.slice(0, 7)}</code>
                  <span aria-hidden>·</span>
                  <span className="truncate" title={c.email}>
                    {c.author}
                  </span>
                  <span aria-hidden>·</span>
                  <time dateTime={c.date} title={formatDateTime(c.date)} className="shrink-0">
                    {timeAgo(c.date)}
                  </time>
                </p>
              </li>
            ))}
          </ol>
          {log.hasNextPage && (
            <Button
              variant="outline"
              size="sm"
              className="w-full"
              data-testid="git-log-more"
              disabled={log.isFetchingNextPage}
              onClick={() => void log.fetchNextPage()}
            >
              {log.isFetchingNextPage && <LoaderCircle className="animate-spin" aria-hidden />}
              Load more
            </Button>
          )}
        </>
      )}
    </section>
  )
}
