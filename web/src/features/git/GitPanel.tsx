import { ArrowDown, ArrowUp, GitBranch, GitCompare, RefreshCw } from "lucide-react"
import { useState } from "react"

import { ErrorState } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Checkbox } from "@/components/ui/checkbox"
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select"
import { Skeleton } from "@/components/ui/skeleton"
import type { Environment, GitFile, GitStatus } from "@/lib/api/types"
import { cn } from "@/lib/utils"
import { CommitForm } from "@/features/git/CommitForm"
import { DiffDialog } from "@/features/git/DiffDialog"
import { GitLog } from "@/features/git/GitLog"
import { branchTargets, defaultBranch, splitPath, stateLook, type BranchTarget } from "@/features/git/files"
import { useGitStatus } from "@/features/git/hooks"

/** The git side of an environment: one branch's workspace at a time, picked by its sessions. */
export function GitPanel({ environment: env }: { environment: Environment }) {
  const targets = branchTargets(env.sessions)
  const [chosen, setChosen] = useState<string | null>(null)
  const branch = targets.some((t) => t.branch === chosen) ? chosen : defaultBranch(env.sessions)
  const target = targets.find((t) => t.branch === branch)

  return (
    <Card className="gap-0 py-0" data-testid="git-panel" data-branch={target?.branch}>
      <CardHeader className="gap-3 border-b px-4 py-4 [.border-b]:pb-4">
        <div className="space-y-1.5">
          <CardTitle className="flex items-center gap-2 text-base">
            <GitCompare className="text-muted-foreground size-4" aria-hidden />
            Git
          </CardTitle>
          <CardDescription>Changes, commits and pushes of a branch&apos;s workspace.</CardDescription>
        </div>
        {targets.length > 1 && target && (
          <Select
            value={target.branch}
            onValueChange={(value) => {
              setChosen(value)
            }}
          >
            <SelectTrigger className="w-full" aria-label="Branch to show" data-testid="git-branch-select">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              {targets.map((t) => (
                <SelectItem key={t.branch} value={t.branch} data-testid="git-branch-option" data-branch={t.branch}>
                  <GitBranch aria-hidden />
                  <span className="truncate font-mono">{t.branch}</span>
                  <span className="text-muted-foreground truncate text-xs">
                    {t.sessions.map((s) => s.name).join(", ")}
                  </span>
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        )}
      </CardHeader>
      <CardContent className="px-4 py-4">
        {env.status !== "running" ? (
          <p className="text-muted-foreground text-sm" data-testid="git-unavailable">
            {env.status === "stopped"
              ? "Start the environment to see and commit the changes of its branches."
              : env.status === "creating"
                ? "Available once the environment is running."
                : `Not available while the environment is ${env.status}.`}
          </p>
        ) : !target ? (
          <p className="text-muted-foreground text-sm" data-testid="git-no-session">
            Start a session to see the changes in its branch, commit them and push.
          </p>
        ) : (
          // Keyed by session: another branch starts with its own selection and forms.
          <GitWorkspace key={target.session.id} target={target} />
        )}
      </CardContent>
    </Card>
  )
}

function GitWorkspace({ target }: { target: BranchTarget }) {
  const sessionId = target.session.id
  const status = useGitStatus(sessionId)
  const [ticked, setTicked] = useState<ReadonlySet<string>>(new Set())
  const [open, setOpen] = useState<GitFile | null>(null)
  const blocked =
    target.session.status === "dead"
      ? `The sessions on ${target.branch} have ended; restart one to commit or push.`
      : null

  if (status.isPending) {
    return (
      <div className="space-y-3" aria-busy="true" aria-label="Loading the git status">
        <Skeleton className="h-5 w-40" />
        {[0, 1, 2].map((i) => (
          <Skeleton key={i} className="h-8 w-full" />
        ))}
      </div>
    )
  }
  if (status.isError) {
    return (
      <ErrorState
        error={status.error}
        title="Could not read the git status"
        onRetry={() => void status.refetch()}
        className="p-3"
      />
    )
  }

  const data = status.data
  // Files that were ticked and have since been committed or reverted no longer count.
  const selected = data.files.map((f) => f.path).filter((p) => ticked.has(p))

  return (
    <div className="space-y-5" data-testid="git-status" data-session-id={sessionId}>
      <BranchLine status={data} fetching={status.isFetching} onRefresh={() => void status.refetch()} />
      {blocked && (
        <p role="status" className="bg-muted/60 rounded-md border px-3 py-2 text-sm" data-testid="git-blocked">
          {blocked}
        </p>
      )}
      <ChangedFiles
        files={data.files}
        selected={selected}
        onToggle={(path, on) => {
          setTicked((set) => {
            const next = new Set(set)
            if (on) next.add(path)
            else next.delete(path)
            return next
          })
        }}
        onToggleAll={(on) => {
          setTicked(on ? new Set(data.files.map((f) => f.path)) : new Set())
        }}
        onOpen={setOpen}
      />
      <CommitForm
        sessionId={sessionId}
        status={data}
        selected={selected}
        blocked={blocked}
        onCommitted={() => {
          setTicked(new Set())
        }}
      />
      <GitLog sessionId={sessionId} />
      <DiffDialog
        sessionId={sessionId}
        file={open}
        onClose={() => {
          setOpen(null)
        }}
      />
    </div>
  )
}

function BranchLine({ status, fetching, onRefresh }: { status: GitStatus; fetching: boolean; onRefresh: () => void }) {
  return (
    <div className="flex items-start gap-2">
      <div className="min-w-0 flex-1 space-y-0.5 text-sm">
        <p className="flex min-w-0 items-center gap-1.5">
          <GitBranch className="text-muted-foreground size-4 shrink-0" aria-hidden />
          <span className="truncate font-mono font-medium" data-testid="git-branch">
            {status.branch ?? "detached HEAD"}
          </span>
        </p>
        <p className="text-muted-foreground flex flex-wrap items-center gap-x-2 text-xs" data-testid="git-upstream">
          {status.upstream ? (
            <>
              <span className="truncate">
                tracks <span className="font-mono">{status.upstream}</span>
              </span>
              <span className="inline-flex items-center gap-0.5 tabular-nums" title="Commits to push" data-testid="git-ahead">
                <ArrowUp className="size-3" aria-hidden />
                {status.ahead}
                <span className="sr-only"> ahead</span>
              </span>
              <span className="inline-flex items-center gap-0.5 tabular-nums" title="Commits to pull" data-testid="git-behind">
                <ArrowDown className="size-3" aria-hidden />
                {status.behind}
                <span className="sr-only"> behind</span>
              </span>
            </>
          ) : (
            "Not on the remote yet: Push publishes it."
          )}
        </p>
      </div>
      <Button
        variant="ghost"
        size="icon-sm"
        aria-label="Refresh the status"
        title="Refresh the status"
        className="text-muted-foreground"
        disabled={fetching}
        onClick={onRefresh}
      >
        <RefreshCw className={cn(fetching && "animate-spin motion-reduce:animate-none")} aria-hidden />
      </Button>
    </div>
  )
}

function ChangedFiles({
  files,
  selected,
  onToggle,
  onToggleAll,
  onOpen,
}: {
  files: GitFile[]
  selected: string[]
  onToggle: (path: string, on: boolean) => void
  onToggleAll: (on: boolean) => void
  onOpen: (file: GitFile) => void
}) {
  const all = files.length > 0 && selected.length === files.length
  return (
    <section aria-labelledby="git-changes-title" className="space-y-2">
      <div className="flex items-center gap-2">
        {files.length > 0 && (
          <Checkbox
            aria-label="Tick every file"
            data-testid="git-select-all"
            checked={all ? true : selected.length > 0 ? "indeterminate" : false}
            onCheckedChange={(state) => {
              onToggleAll(state === true)
            }}
          />
        )}
        <h3 id="git-changes-title" className="text-sm font-medium">
          Changes
        </h3>
        <span className="bg-muted text-muted-foreground rounded-full px-2 text-xs leading-5 tabular-nums" data-testid="git-change-count">
          {files.length}
        </span>
      </div>
      {files.length === 0 ? (
        <p className="text-muted-foreground text-sm" data-testid="git-clean">
          Nothing to commit: the worktree is clean.
        </p>
      ) : (
        <ul className="max-h-72 divide-y overflow-y-auto rounded-md border" aria-label="Changed files">
          {files.map((file) => (
            <FileRow
              key={file.path}
              file={file}
              ticked={selected.includes(file.path)}
              onToggle={(on) => {
                onToggle(file.path, on)
              }}
              onOpen={() => {
                onOpen(file)
              }}
            />
          ))}
        </ul>
      )}
    </section>
  )
}

function FileRow({
  file,
  ticked,
  onToggle,
  onOpen,
}: {
  file: GitFile
  ticked: boolean
  onToggle: (on: boolean) => void
  onOpen: () => void
}) {
  const [dir, name] = splitPath(file.path)
  const untracked = file.index === "untracked"
  return (
    <li
      className="hover:bg-muted/50 flex items-center gap-2 px-2 py-1.5"
      data-testid="git-file-row"
      data-path={file.path}
      data-index={file.index}
      data-worktree={file.worktree}
    >
      <Checkbox
        aria-label={`Commit ${file.path}`}
        data-testid="git-file-checkbox"
        checked={ticked}
        onCheckedChange={(state) => {
          onToggle(state === true)
        }}
      />
      <button
        type="button"
        onClick={onOpen}
        data-testid="git-file-open"
        title={`Show the diff of ${file.path}`}
        className="focus-visible:ring-ring/50 flex min-w-0 flex-1 flex-col items-start rounded-sm text-left outline-none focus-visible:ring-[3px]"
      >
        <span className="flex w-full min-w-0 items-baseline font-mono text-xs">
          <span className="text-foreground shrink-0 font-medium">{name}</span>
          {dir && <span className="text-muted-foreground ml-1.5 truncate">{dir}</span>}
        </span>
        {file.originalPath && (
          <span className="text-muted-foreground w-full truncate text-xs" data-testid="git-file-renamed-from">
            from <span className="font-mono">{file.originalPath}</span>
          </span>
        )}
      </button>
      <span className="flex shrink-0 gap-1">
        {untracked ? (
          <StateBadge side="untracked" state="untracked" />
        ) : (
          <>
            <StateBadge side="index" state={file.index} />
            <StateBadge side="worktree" state={file.worktree} />
          </>
        )}
      </span>
    </li>
  )
}

const SIDE = {
  index: { label: "Staged", className: "border-success/30 bg-success/10 text-success" },
  worktree: { label: "Not staged", className: "border-warning/30 bg-warning/10 text-warning" },
  untracked: { label: "New", className: "border-info/30 bg-info/10 text-info" },
} as const

/** One letter for one side of a change: green when staged, amber in the worktree only. */
function StateBadge({ side, state }: { side: keyof typeof SIDE; state: string }) {
  const look = stateLook(state)
  if (!look) {
    // Keeps the letters of every row in the same two columns.
    return <span className="size-5" aria-hidden />
  }
  const conflict = state === "unmerged"
  const text = side === "untracked" ? "Untracked: not in git yet" : `${SIDE[side].label}: ${look.label}`
  return (
    <span
      title={text}
      data-testid={`git-file-${side}`}
      data-state={state}
      className={cn(
        "inline-flex size-5 items-center justify-center rounded border font-mono text-[11px] font-semibold",
        conflict ? "border-destructive/30 bg-destructive/10 text-destructive" : SIDE[side].className,
      )}
    >
      <span aria-hidden>{look.letter}</span>
      <span className="sr-only">{text}</span>
    </span>
  )
}
