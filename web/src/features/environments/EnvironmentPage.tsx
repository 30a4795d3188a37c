import { ArrowLeft, CircleAlert, GitBranch, LoaderCircle, SearchX } from "lucide-react"
import { Link, useNavigate, useParams } from "react-router"

import { EmptyState, ErrorState } from "@/components/States"
import { EnvironmentStatusBadge } from "@/components/StatusBadge"
import { Button } from "@/components/ui/button"
import { Skeleton } from "@/components/ui/skeleton"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"
import { isNotFound } from "@/lib/api/errors"
import type { Environment } from "@/lib/api/types"
import { formatDate, shortRepository } from "@/lib/format"
import { EgressPolicySummary } from "@/features/environments/EgressPolicy"
import { IdleStopSummary } from "@/features/environments/IdleStop"
import { SizeSummary } from "@/features/environments/EnvironmentSize"
import { EnvironmentActions } from "@/features/environments/EnvironmentActions"
import { EnvironmentSidebar } from "@/features/environments/EnvironmentSidebar"
import { useEnvironment } from "@/features/environments/hooks"
import { StoppedWorkspaces } from "@/features/environments/WorkspaceDisk"
import { Devcontainers } from "@/features/environments/Devcontainers"
import { VariablesPanel } from "@/features/environments/VariablesPanel"
import { SessionsPanel } from "@/features/sessions/SessionsPanel"

export function EnvironmentPage() {
  const { id = "" } = useParams()
  const environment = useEnvironment(id)
  const navigate = useNavigate()
  useDocumentTitle(environment.data?.name)

  if (environment.isPending) return <EnvironmentSkeleton />
  if (environment.isError) {
    if (isNotFound(environment.error)) {
      return (
        <EmptyState
          icon={<SearchX />}
          title="Environment not found"
          data-testid="environment-not-found"
          action={
            <Button asChild variant="outline">
              <Link to="/">Back to environments</Link>
            </Button>
          }
        >
          It may have been deleted, or it belongs to another account.
        </EmptyState>
      )
    }
    return (
      <ErrorState
        error={environment.error}
        title="Could not load this environment"
        onRetry={() => void environment.refetch()}
      />
    )
  }

  const env = environment.data
  return (
    <div className="space-y-6" data-testid="environment-page" data-environment-id={env.id} data-status={env.status}>
      <EnvironmentHeader
        environment={env}
        onDeleted={() => {
          void navigate("/", { replace: true })
        }}
      />
      <StatusNotice environment={env} />
      <StoppedWorkspaces environment={env} />
      <Devcontainers environmentId={env.id} />
      {/* Main column (sessions) and a side column that collapses while it is empty. */}
      <div className="flex flex-col gap-6 lg:flex-row lg:items-start">
        <div className="flex min-w-0 flex-1 flex-col gap-6">
          <SessionsPanel
            environment={env}
            onOpenSession={(session) => void navigate(`/environments/${env.id}/terminal/${session.id}`)}
          />
          <VariablesPanel environment={env} />
        </div>
        <aside aria-label="Environment tools" className="flex w-full min-w-0 shrink-0 flex-col gap-6 empty:hidden lg:w-96">
          <EnvironmentSidebar environment={env} />
        </aside>
      </div>
    </div>
  )
}

function EnvironmentHeader({ environment: env, onDeleted }: { environment: Environment; onDeleted: () => void }) {
  return (
    <div className="space-y-4">
      <Link
        to="/"
        className="text-muted-foreground hover:text-foreground focus-visible:ring-ring/50 inline-flex items-center gap-1 rounded-sm text-sm outline-none focus-visible:ring-[3px]"
      >
        <ArrowLeft className="size-4" aria-hidden />
        Environments
      </Link>
      <div className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
        <div className="min-w-0 space-y-2">
          <div className="flex flex-wrap items-center gap-3">
            <h1 className="truncate text-2xl font-semibold tracking-tight">{env.name}</h1>
            <EnvironmentStatusBadge status={env.status} data-testid="environment-status" />
          </div>
          <dl className="text-muted-foreground flex flex-wrap gap-x-5 gap-y-1 text-sm">
            <div className="flex min-w-0 items-center gap-1.5">
              <dt className="sr-only">Repository</dt>
              <dd className="truncate" title={env.repositoryUrl ?? undefined}>
                {env.repositoryUrl ? (
                  /^https?:\/\//.test(env.repositoryUrl) ? (
                    <a
                      href={env.repositoryUrl}
                      target="_blank"
                      rel="noreferrer noopener"
                      className="hover:text-foreground underline-offset-4 hover:underline"
                    >
                      {shortRepository(env.repositoryUrl)}
                    </a>
                  ) : (
                    <span className="font-mono">{env.repositoryUrl}</span>
                  )
                ) : (
                  "Empty repository"
                )}
              </dd>
            </div>
            <div className="flex items-center gap-1.5">
              <dt className="sr-only">Default branch</dt>
              <GitBranch className="size-4" aria-hidden />
              <dd className="font-mono" data-testid="environment-branch">
                {env.branch}
              </dd>
            </div>
            <EgressPolicySummary environment={env} />
            <IdleStopSummary environment={env} />
            <SizeSummary environment={env} />
            <div className="flex items-center gap-1.5">
              <dt>Created</dt>
              <dd>{formatDate(env.createdAt)}</dd>
            </div>
          </dl>
        </div>
        <EnvironmentActions environment={env} onDeleted={onDeleted} />
      </div>
    </div>
  )
}

function StatusNotice({ environment: env }: { environment: Environment }) {
  if (env.status === "error") {
    return (
      <div
        role="alert"
        className="border-destructive/30 bg-destructive/5 flex items-start gap-3 rounded-lg border p-4 text-sm"
        data-testid="environment-error"
      >
        <CircleAlert className="text-destructive mt-0.5 size-4 shrink-0" aria-hidden />
        <div className="space-y-1">
          <p className="font-medium">This environment failed</p>
          <p className="text-muted-foreground">{env.error ?? "No reason was given. Delete it and create it again."}</p>
        </div>
      </div>
    )
  }
  if (env.status === "creating" || env.status === "deleting") {
    return (
      <div role="status" className="bg-muted/50 flex items-center gap-3 rounded-lg border p-4 text-sm">
        <LoaderCircle className="text-muted-foreground size-4 shrink-0 animate-spin" aria-hidden />
        <p>
          {env.status === "creating"
            ? env.repositoryUrl
              ? "Cloning the repository and preparing the workspace of the default branch… this page updates by itself."
              : "Preparing an empty repository and the workspace of the default branch…"
            : "Deleting: removing containers, worktrees and the clone…"}
        </p>
      </div>
    )
  }
  if (env.status === "stopped") {
    return (
      <div role="status" className="bg-muted/50 rounded-lg border p-4 text-sm">
        This environment is stopped. Start it to open its sessions again; files and branches were kept.
      </div>
    )
  }
  return null
}

function EnvironmentSkeleton() {
  return (
    <div className="space-y-6" aria-busy="true" aria-label="Loading the environment">
      <Skeleton className="h-4 w-28" />
      <div className="space-y-2">
        <Skeleton className="h-8 w-64" />
        <Skeleton className="h-4 w-80 max-w-full" />
      </div>
      <div className="space-y-3 rounded-xl border p-5">
        <Skeleton className="h-5 w-24" />
        {[0, 1, 2].map((i) => (
          <Skeleton key={i} className="h-14 w-full" />
        ))}
      </div>
    </div>
  )
}
