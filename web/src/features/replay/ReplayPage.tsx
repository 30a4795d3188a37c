import { useQuery } from "@tanstack/react-query"
import { ArrowLeft, Film, LoaderCircle, RefreshCw, SquareTerminal } from "lucide-react"
import { useMemo } from "react"
import { Link, useParams } from "react-router"

import { EmptyState, ErrorState } from "@/components/States"
import { ThemeToggle } from "@/components/ThemeToggle"
import { Button } from "@/components/ui/button"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"
import { apiCalls } from "@/lib/api/endpoints"
import { parseCast, type Cast } from "@/lib/recording/asciicast"
import { queryKeys } from "@/lib/queries"
import { ReplayView } from "@/features/replay/ReplayView"

/** `/environments/:envId/replay/:sessionId`: a session's recording, replayed with a
 * timeline and a choice of speed. */
export default function ReplayRoute() {
  const { envId = "", sessionId = "" } = useParams()
  return <ReplayPage key={sessionId} environmentId={envId} sessionId={sessionId} />
}

function ReplayPage({ environmentId, sessionId }: { environmentId: string; sessionId: string }) {
  const recording = useQuery({
    queryKey: queryKeys.recording(sessionId),
    queryFn: ({ signal }) => apiCalls.sessionRecording(sessionId, signal),
    // A recording goes on growing: read it again when asked, not behind the user's back.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  })
  const parsed = useMemo((): { cast: Cast } | { error: unknown } | undefined => {
    if (recording.data === undefined) return undefined
    try {
      return { cast: parseCast(recording.data) }
    } catch (error) {
      return { error }
    }
  }, [recording.data])
  const cast = parsed && "cast" in parsed ? parsed.cast : undefined
  useDocumentTitle(cast?.title ? `Replay of ${cast.title}` : "Replay")

  return (
    <div className="bg-background flex h-dvh flex-col">
      <header className="flex items-center gap-2 border-b px-3 py-2">
        <Button variant="ghost" size="sm" asChild>
          <Link to={`/environments/${environmentId}`} data-testid="replay-back-link">
            <ArrowLeft aria-hidden />
            Environment
          </Link>
        </Button>
        <h1 className="min-w-0 flex-1 truncate text-sm font-medium">
          <Film className="text-muted-foreground mr-1.5 inline size-4 align-[-3px]" aria-hidden />
          {cast?.title ? `Replay of ${cast.title}` : "Replay"}
        </h1>
        <Button
          variant="outline"
          size="sm"
          data-testid="replay-reload"
          disabled={recording.isFetching}
          onClick={() => void recording.refetch()}
        >
          <RefreshCw className={recording.isFetching ? "animate-spin" : undefined} aria-hidden />
          Reload
        </Button>
        <Button variant="outline" size="sm" asChild>
          <Link to={`/environments/${environmentId}/terminal/${sessionId}`} data-testid="replay-open-terminal">
            <SquareTerminal aria-hidden />
            Open terminal
          </Link>
        </Button>
        <ThemeToggle />
      </header>
      <main className="min-h-0 flex-1 p-3">
        {recording.isPending ? (
          <div className="text-muted-foreground flex h-full items-center justify-center gap-2 text-sm" role="status">
            <LoaderCircle className="size-4 animate-spin" aria-hidden />
            Loading the recording…
          </div>
        ) : recording.isError ? (
          <ErrorState
            error={recording.error}
            title="Could not load the recording"
            onRetry={() => void recording.refetch()}
          />
        ) : parsed && "error" in parsed ? (
          <ErrorState error={parsed.error} title="Could not read the recording" />
        ) : cast && cast.events.length > 0 ? (
          <ReplayView key={recording.dataUpdatedAt} cast={cast} />
        ) : (
          <EmptyState icon={<Film />} title="Nothing recorded yet" data-testid="replay-empty">
            The session&apos;s output is recorded from when it starts. Open its terminal, then reload.
          </EmptyState>
        )}
      </main>
    </div>
  )
}
