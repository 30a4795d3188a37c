import { LoaderCircle, RefreshCw } from "lucide-react"
import { useState } from "react"

import { ErrorState } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { Skeleton } from "@/components/ui/skeleton"
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs"
import type { GitFile } from "@/lib/api/types"
import { DiffView } from "@/features/git/DiffView"
import { diffStats, parseDiff } from "@/features/git/diff"
import { defaultStaged, hasStaged, hasUnstaged, isUntracked, splitPath } from "@/features/git/files"
import { useGitDiff } from "@/features/git/hooks"

interface Props {
  sessionId: string
  /** The file to show; the dialog is closed while null. */
  file: GitFile | null
  onClose: () => void
}

export function DiffDialog({ sessionId, file, onClose }: Props) {
  return (
    <Dialog
      open={file !== null}
      onOpenChange={(open) => {
        if (!open) onClose()
      }}
    >
      <DialogContent data-testid="git-diff-dialog" className="gap-3 sm:max-w-5xl">
        {/* Keyed by path, so that each file opens on its own default side. */}
        {file && <FileDiff key={file.path} sessionId={sessionId} file={file} />}
      </DialogContent>
    </Dialog>
  )
}

function FileDiff({ sessionId, file }: { sessionId: string; file: GitFile }) {
  const [staged, setStaged] = useState(() => defaultStaged(file))
  const diff = useGitDiff(sessionId, file.path, staged)
  const [dir, name] = splitPath(file.path)
  const stats = diff.data && !diff.data.binary ? diffStats(parseDiff(diff.data.diff)) : null

  return (
    <>
      <DialogHeader className="min-w-0 pr-8">
        <DialogTitle className="font-mono text-base break-all">
          <span className="text-muted-foreground font-normal">{dir}</span>
          {name}
        </DialogTitle>
        <DialogDescription>
          {file.originalPath ? (
            <>
              Renamed from <span className="font-mono">{file.originalPath}</span>.{" "}
            </>
          ) : null}
          {isUntracked(file)
            ? "A new file git does not track yet; shown as added."
            : staged
              ? "What is staged for the next commit (the index against the last commit)."
              : "What changed in the worktree and is not staged yet."}
        </DialogDescription>
      </DialogHeader>
      <div className="flex flex-wrap items-center gap-3">
        <Tabs
          value={staged ? "staged" : "unstaged"}
          onValueChange={(value) => {
            setStaged(value === "staged")
          }}
        >
          <TabsList aria-label="Which changes">
            <TabsTrigger value="unstaged" data-testid="git-diff-unstaged" disabled={!hasUnstaged(file)}>
              Unstaged
            </TabsTrigger>
            <TabsTrigger value="staged" data-testid="git-diff-staged" disabled={!hasStaged(file)}>
              Staged
            </TabsTrigger>
          </TabsList>
        </Tabs>
        {stats && (
          <p className="font-mono text-xs" data-testid="git-diff-stats">
            <span className="text-success">+{stats.added}</span>{" "}
            <span className="text-destructive">−{stats.removed}</span>
          </p>
        )}
        <Button
          variant="ghost"
          size="sm"
          className="text-muted-foreground ml-auto"
          disabled={diff.isFetching}
          onClick={() => void diff.refetch()}
        >
          <RefreshCw className={diff.isFetching ? "animate-spin" : undefined} aria-hidden />
          Refresh
        </Button>
      </div>
      <div
        data-testid="git-diff"
        data-path={file.path}
        data-staged={staged}
        data-state={diff.isPending ? "loading" : diff.isError ? "error" : "ready"}
        data-truncated={diff.data?.truncated ?? false}
        data-binary={diff.data?.binary ?? false}
        className="min-w-0"
      >
        {diff.isPending ? (
          <div className="space-y-2" aria-busy="true" aria-label="Loading the diff">
            <LoaderCircle className="text-muted-foreground size-4 animate-spin" aria-hidden />
            {[0, 1, 2, 3].map((i) => (
              <Skeleton key={i} className="h-4 w-full" />
            ))}
          </div>
        ) : diff.isError ? (
          <ErrorState error={diff.error} title="Could not load the diff" onRetry={() => void diff.refetch()} />
        ) : diff.data.diff === "" && !diff.data.binary ? (
          <p className="text-muted-foreground rounded-md border border-dashed px-3 py-6 text-center text-sm">
            No {staged ? "staged" : "unstaged"} changes in this file.
          </p>
        ) : (
          <DiffView diff={diff.data} />
        )}
      </div>
    </>
  )
}
