import { ChevronDown, GitBranch, LoaderCircle, Lock, Search } from "lucide-react"
import { useId, useState } from "react"
import { Link } from "react-router"

import { GitHubMark } from "@/components/GitHubMark"
import { ErrorState } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Input } from "@/components/ui/input"
import { Skeleton } from "@/components/ui/skeleton"
import { ApiError } from "@/lib/api/errors"
import type { GitHubRepository } from "@/lib/api/types"
import { cn } from "@/lib/utils"
import { useGitHubRepositories, useGitHubStatus } from "@/features/github/hooks"
import { matchRepositories } from "@/features/github/repositories"

interface Props {
  /** The repository URL in the form, to mark the repository it names. */
  selectedUrl: string
  onPick: (repository: GitHubRepository) => void
}

/**
 * The user's GitHub repositories to pick from, when GitHub is linked; a pointer to the
 * settings when it is not; nothing when this server has no GitHub.
 */
export function RepositoryPicker({ selectedUrl, onPick }: Props) {
  const status = useGitHubStatus()
  const [open, setOpen] = useState(false)
  const listId = useId()

  if (status.isPending || status.isError) return null
  if (!status.data.connected) {
    return (
      <p className="text-muted-foreground flex items-center gap-2 text-xs" data-testid="github-repo-hint">
        <GitHubMark className="size-3.5" />
        <span>
          <Link to="/settings" className="text-foreground underline-offset-4 hover:underline">
            Link GitHub
          </Link>{" "}
          to pick from your repositories, private ones included.
        </span>
      </p>
    )
  }

  return (
    <div className="min-w-0 rounded-lg border" data-testid="github-repo-picker">
      <button
        type="button"
        aria-expanded={open}
        aria-controls={listId}
        data-testid="github-repo-picker-toggle"
        onClick={() => {
          setOpen((o) => !o)
        }}
        className="hover:bg-muted/50 focus-visible:ring-ring/50 flex w-full items-center gap-2 rounded-lg px-3 py-2 text-left text-sm outline-none focus-visible:ring-[3px]"
      >
        <GitHubMark />
        <span className="flex-1">
          Choose from GitHub
          {status.data.username && <span className="text-muted-foreground"> · {status.data.username}</span>}
        </span>
        <ChevronDown className={cn("text-muted-foreground size-4 transition-transform", open && "rotate-180")} aria-hidden />
      </button>
      {open && (
        <div id={listId} className="border-t p-2">
          <RepositoryList
            selectedUrl={selectedUrl}
            onPick={(r) => {
              onPick(r)
              setOpen(false)
            }}
          />
        </div>
      )}
    </div>
  )
}

function RepositoryList({ selectedUrl, onPick }: Props) {
  const repositories = useGitHubRepositories(true)
  const [query, setQuery] = useState("")
  const loaded = repositories.data?.pages.flatMap((p) => p.repositories) ?? []
  const shown = matchRepositories(loaded, query)

  if (repositories.isPending) {
    return (
      <div className="space-y-2 p-1" aria-busy="true" aria-label="Loading your repositories">
        {[0, 1, 2].map((i) => (
          <Skeleton key={i} className="h-8 w-full" />
        ))}
      </div>
    )
  }
  if (repositories.isError) {
    const unlinked = repositories.error instanceof ApiError && repositories.error.code === "github_not_linked"
    return unlinked ? (
      <p className="text-muted-foreground p-2 text-sm">
        GitHub is no longer linked.{" "}
        <Link to="/settings" className="text-foreground underline-offset-4 hover:underline">
          Link it again
        </Link>{" "}
        or type the URL.
      </p>
    ) : (
      <ErrorState
        error={repositories.error}
        title="Could not list your repositories"
        onRetry={() => void repositories.refetch()}
        className="p-3"
      />
    )
  }

  return (
    <div className="space-y-2">
      <div className="relative">
        <Search className="text-muted-foreground pointer-events-none absolute top-2.5 left-2.5 size-4" aria-hidden />
        <Input
          type="search"
          aria-label="Search your repositories"
          placeholder="Search by name"
          data-testid="github-repo-search"
          className="pl-8"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value)
          }}
        />
      </div>
      {shown.length === 0 ? (
        <p className="text-muted-foreground px-1 py-2 text-sm" data-testid="github-repo-none">
          {loaded.length === 0
            ? "Your GitHub account has no repositories."
            : repositories.hasNextPage
              ? `None of the ${loaded.length} loaded so far matches; load more to search further.`
              : "No repository matches."}
        </p>
      ) : (
        <ul className="max-h-56 space-y-0.5 overflow-y-auto" aria-label="Your repositories">
          {shown.map((r) => {
            const selected = r.cloneUrl === selectedUrl
            return (
              <li key={r.fullName}>
                <button
                  type="button"
                  data-testid="github-repo-option"
                  data-full-name={r.fullName}
                  aria-pressed={selected}
                  onClick={() => {
                    onPick(r)
                  }}
                  className={cn(
                    "focus-visible:ring-ring/50 flex w-full min-w-0 items-center gap-2 rounded-md px-2 py-1.5 text-left text-sm outline-none focus-visible:ring-[3px]",
                    selected ? "bg-accent" : "hover:bg-muted/60",
                  )}
                >
                  <span className="min-w-0 flex-1 truncate">{r.fullName}</span>
                  {r.private && (
                    <Lock className="text-muted-foreground size-3.5 shrink-0" aria-label="Private" />
                  )}
                  {r.defaultBranch ? (
                    <span className="text-muted-foreground inline-flex shrink-0 items-center gap-1 font-mono text-xs">
                      <GitBranch className="size-3" aria-hidden />
                      {r.defaultBranch}
                    </span>
                  ) : (
                    <span className="text-muted-foreground shrink-0 text-xs">empty</span>
                  )}
                </button>
              </li>
            )
          })}
        </ul>
      )}
      {repositories.hasNextPage && (
        <Button
          variant="ghost"
          size="sm"
          className="w-full"
          data-testid="github-repo-more"
          disabled={repositories.isFetchingNextPage}
          onClick={() => void repositories.fetchNextPage()}
        >
          {repositories.isFetchingNextPage && <LoaderCircle className="animate-spin" aria-hidden />}
          Load more
        </Button>
      )}
    </div>
  )
}
