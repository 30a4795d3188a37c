import { ArrowDown, ArrowUp, CircleAlert, GitCommitHorizontal, LoaderCircle } from "lucide-react"
import { useId, useState } from "react"
import { toast } from "sonner"

import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Label } from "@/components/ui/label"
import { Textarea } from "@/components/ui/textarea"
import { ApiError, describeError } from "@/lib/api/errors"
import type { GitStatus } from "@/lib/api/types"
import { pluralize } from "@/lib/format"
import { useCommit, useFetchRemote, usePush } from "@/features/git/hooks"

interface Props {
  sessionId: string
  status: GitStatus
  /** The files ticked in the list; none means every change. */
  selected: string[]
  /** Why committing and pushing are not possible now, if they are not. */
  blocked: string | null
  onCommitted: () => void
}

/** The commit message, Commit (the ticked files, or everything) and Push. */
export function CommitForm({ sessionId, status, selected, blocked, onCommitted }: Props) {
  const [message, setMessage] = useState("")
  const commit = useCommit(sessionId)
  const push = usePush(sessionId)
  const fetchRemote = useFetchRemote(sessionId)
  const id = useId()
  const canCommit = message.trim() !== "" && !commit.isPending && blocked === null

  const submit = () => {
    if (!canCommit) return
    push.reset()
    commit.mutate(
      { message, ...(selected.length > 0 ? { files: selected } : {}) },
      {
        onSuccess: ({ hash }) => {
          setMessage("")
          onCommitted()
          toast.success(`Committed ${hash.slice(0, 7)}`)
        },
      },
    )
  }

  const scope =
    status.files.length === 0
      ? "Nothing has changed since the last commit."
      : selected.length === 0
        ? `Commits every change (${pluralize(status.files.length, "file")}). Tick files to commit only those.`
        : `Commits ${selected.length} of ${pluralize(status.files.length, "changed file")}.`

  return (
    <form
      className="space-y-2"
      data-testid="commit-form"
      onSubmit={(event) => {
        event.preventDefault()
        submit()
      }}
    >
      <Label htmlFor={`${id}-message`}>Commit message</Label>
      <Textarea
        id={`${id}-message`}
        data-testid="commit-message"
        placeholder="Say what the change does"
        className="max-h-48 min-h-20 font-mono text-sm"
        aria-describedby={`${id}-scope`}
        value={message}
        disabled={blocked !== null}
        onChange={(e) => {
          setMessage(e.target.value)
          if (commit.isError) commit.reset()
        }}
        onKeyDown={(e) => {
          // Ctrl+Enter (⌘+Enter) commits, as in most editors.
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
            e.preventDefault()
            submit()
          }
        }}
      />
      <p id={`${id}-scope`} className="text-muted-foreground text-xs" data-testid="commit-scope">
        {scope}
      </p>
      <FormError message={commit.isError ? describeError(commit.error) : null} data-testid="commit-error" />
      <div className="flex flex-wrap gap-2">
        <Button type="submit" size="sm" className="flex-1" data-testid="commit-button" disabled={!canCommit}>
          {commit.isPending ? <LoaderCircle className="animate-spin" aria-hidden /> : <GitCommitHorizontal aria-hidden />}
          Commit
        </Button>
        <Button
          variant="outline"
          size="sm"
          className="flex-1"
          data-testid="push-button"
          data-ahead={status.ahead}
          disabled={push.isPending || blocked !== null}
          title={status.upstream ? `Push to ${status.upstream}` : "Publish the branch to origin"}
          onClick={() => {
            commit.reset()
            push.mutate(
              {},
              {
                onSuccess: (pushed) => toast.success(`Pushed ${pushed.branch} to ${pushed.remote}`),
              },
            )
          }}
        >
          {push.isPending ? <LoaderCircle className="animate-spin" aria-hidden /> : <ArrowUp aria-hidden />}
          Push
          {status.ahead > 0 && (
            <span
              className="bg-primary text-primary-foreground rounded-full px-1.5 text-xs leading-5 tabular-nums"
              aria-label={`${pluralize(status.ahead, "commit")} to push`}
            >
              {status.ahead}
            </span>
          )}
        </Button>
      </div>
      <Button
        variant="ghost"
        size="sm"
        className="w-full"
        data-testid="fetch-button"
        data-behind={status.behind}
        disabled={fetchRemote.isPending || blocked !== null}
        title="Bring in the remote's commits, so that the branch shows how far behind it is"
        onClick={() => {
          push.reset()
          fetchRemote.mutate(undefined, {
            onSuccess: ({ remote }) => toast.success(`Fetched ${remote}`),
          })
        }}
      >
        {fetchRemote.isPending ? <LoaderCircle className="animate-spin" aria-hidden /> : <ArrowDown aria-hidden />}
        Fetch
      </Button>
      {status.behind > 0 && (
        <p className="text-muted-foreground text-xs" data-testid="git-behind">
          The remote has {pluralize(status.behind, "commit")} this branch lacks: run{" "}
          <code className="font-mono">git rebase {status.upstream ?? "origin"}</code> in a terminal, then push.
        </p>
      )}
      {push.isError && <PushError error={push.error} />}
      {fetchRemote.isError && <PushError error={fetchRemote.error} title="The fetch failed" />}
    </form>
  )
}

function PushError({ error, title: given }: { error: unknown; title?: string }) {
  const title =
    given ??
    (error instanceof ApiError && error.code === "push_rejected"
      ? "The remote refused the push"
      : error instanceof ApiError && error.status === 502
        ? "Could not reach the remote"
        : "The push failed")
  return (
    <div
      role="alert"
      data-testid="push-error"
      data-code={error instanceof ApiError ? error.code : undefined}
      className="border-destructive/30 bg-destructive/5 flex items-start gap-2 rounded-md border px-3 py-2 text-sm"
    >
      <CircleAlert className="text-destructive mt-0.5 size-4 shrink-0" aria-hidden />
      <div className="min-w-0 space-y-0.5">
        <p className="text-destructive font-medium">{title}</p>
        <p className="text-muted-foreground break-words whitespace-pre-wrap">{describeError(error)}</p>
      </div>
    </div>
  )
}
