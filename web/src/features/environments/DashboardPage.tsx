import { Boxes, Plus } from "lucide-react"

import { EmptyState, ErrorState } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Skeleton } from "@/components/ui/skeleton"
import { CreateEnvironmentDialog } from "@/features/environments/CreateEnvironmentDialog"
import { EnvironmentCard } from "@/features/environments/EnvironmentCard"
import { useEnvironments } from "@/features/environments/hooks"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"

export function DashboardPage() {
  useDocumentTitle("Environments")
  const environments = useEnvironments()

  const createButton = (
    <Button data-testid="create-environment-button">
      <Plus aria-hidden />
      New environment
    </Button>
  )

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div className="space-y-1">
          <h1 className="text-2xl font-semibold tracking-tight">Environments</h1>
          <p className="text-muted-foreground text-sm">
            A repository each, with a container per branch and tmux sessions you open in the browser.
          </p>
        </div>
        {(environments.data?.length ?? 0) > 0 && <CreateEnvironmentDialog trigger={createButton} />}
      </div>

      {environments.isPending ? (
        <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3" aria-busy="true" aria-label="Loading environments">
          {[0, 1, 2].map((i) => (
            <div key={i} className="space-y-4 rounded-xl border p-5">
              <div className="flex justify-between">
                <Skeleton className="h-5 w-32" />
                <Skeleton className="h-5 w-16 rounded-full" />
              </div>
              <Skeleton className="h-3 w-40" />
              <Skeleton className="h-16 w-full" />
              <Skeleton className="h-8 w-full" />
            </div>
          ))}
        </div>
      ) : environments.isError ? (
        <ErrorState
          error={environments.error}
          title="Could not load your environments"
          onRetry={() => void environments.refetch()}
        />
      ) : environments.data.length === 0 ? (
        <EmptyState
          icon={<Boxes />}
          title="No environments yet — create one"
          data-testid="environments-empty"
          action={<CreateEnvironmentDialog trigger={createButton} />}
        >
          Point Craftastic at a Git repository (or start from an empty one). Each branch you work on gets its own
          container, and each session its own tmux terminal.
        </EmptyState>
      ) : (
        <ul className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3" data-testid="environment-list">
          {environments.data.map((env) => (
            <li key={env.id} className="grid">
              <EnvironmentCard environment={env} />
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
