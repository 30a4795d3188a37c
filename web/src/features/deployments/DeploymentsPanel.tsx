import {
  CircleAlert,
  CircleCheck,
  CircleSlash,
  CircleX,
  Clock,
  ExternalLink,
  GitBranch,
  History,
  LoaderCircle,
  RefreshCw,
  Rocket,
} from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { Field, type FieldStatus } from "@/components/Field"
import { ErrorState, FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Checkbox } from "@/components/ui/checkbox"
import { Input } from "@/components/ui/input"
import { Label } from "@/components/ui/label"
import { Skeleton } from "@/components/ui/skeleton"
import { ApiError, describeError, isUnavailable } from "@/lib/api/errors"
import type { Deployment, Environment } from "@/lib/api/types"
import { useAuth } from "@/lib/auth/auth"
import { formatDateTime, timeAgo } from "@/lib/format"
import { cn } from "@/lib/utils"
import { DeploymentBindings } from "@/features/deployments/DeploymentBindings"
import {
  formatDuration,
  isFinal,
  meta,
  rememberAppId,
  rememberedAppId,
  statusLook,
} from "@/features/deployments/deployments"
import { useDeploy, useDeploymentBindings, useDeployments, useFollowDeployment } from "@/features/deployments/hooks"

/** How many deployments the history shows before "Show all". */
const SHOWN = 5

/** Deploying the environment's branches to Coolify, and what became of each deployment. */
export function DeploymentsPanel({ environment: env }: { environment: Environment }) {
  const { user } = useAuth()
  const deployments = useDeployments(env.id)
  const deploy = useDeploy(env.id)
  // 503 from either route: this server has no Coolify; the server's sentence says what to set.
  const unavailable = isUnavailable(deployments.error)
    ? deployments.error.message
    : isUnavailable(deploy.error)
      ? deploy.error.message
      : null

  return (
    <Card className="gap-0 py-0" data-testid="deployments-panel">
      <CardHeader className="gap-1.5 border-b px-4 py-4 [.border-b]:pb-4">
        <CardTitle className="flex items-center gap-2 text-base">
          <Rocket className="text-muted-foreground size-4" aria-hidden />
          Deployments
        </CardTitle>
        <CardDescription>
          Deploy a branch to a Coolify application bound to this environment and follow it until it is live.
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-5 px-4 py-4">
        {unavailable && (
          <p
            role="status"
            className="bg-muted/60 text-muted-foreground rounded-md border px-3 py-2 text-sm"
            data-testid="deploy-unavailable"
          >
            {unavailable}
          </p>
        )}
        <DeployForm environment={env} deploy={deploy} disabled={unavailable !== null} />
        {!unavailable && user?.isAdmin && <DeploymentBindings environment={env} />}
        {!unavailable && <DeploymentHistory deployments={deployments} />}
      </CardContent>
    </Card>
  )
}

function DeployForm({
  environment: env,
  deploy,
  disabled,
}: {
  environment: Environment
  deploy: ReturnType<typeof useDeploy>
  disabled: boolean
}) {
  const { user } = useAuth()
  const bindings = useDeploymentBindings(env.id)
  const bound = bindings.data ?? []
  /** What the user picked; until then (or once it is unbound) the remembered or first one. */
  const [picked, setPicked] = useState<string | null>(null)
  const [branch, setBranch] = useState("")
  const [force, setForce] = useState(false)
  const remembered = rememberedAppId(env.id)
  const appId =
    (bound.find((b) => b.appId === picked) ?? bound.find((b) => b.appId === remembered) ?? bound[0])?.appId ?? ""

  const error = deploy.error
  const fields = error instanceof ApiError ? error.fields : {}
  const appIdStatus: FieldStatus = fields.appId ? { kind: "error", text: fields.appId } : { kind: "none" }
  const branchStatus: FieldStatus = fields.branch ? { kind: "error", text: fields.branch } : { kind: "none" }
  // Field errors show at their fields; 503 shows above the form; anything else here.
  const formError = error && !isUnavailable(error) && !fields.appId && !fields.branch ? error : null
  const cannotDeploy = disabled || appId === ""

  const edited = () => {
    if (deploy.isError) deploy.reset()
  }

  const submit = (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (cannotDeploy || deploy.isPending) return
    deploy.mutate(
      { appId, ...(branch.trim() ? { branch: branch.trim() } : {}), ...(force ? { force: true } : {}) },
      {
        onSuccess: (deployment) => {
          rememberAppId(env.id, appId)
          toast.success(`Deploying ${deployment.branch ?? env.branch} to ${deployment.appId}`, {
            description: meta(deployment, "coolifyMessage"),
          })
        },
      },
    )
  }

  return (
    <form onSubmit={submit} noValidate className="grid gap-4" data-testid="deploy-form" aria-disabled={disabled}>
      {bindings.isError ? (
        <ErrorState
          error={bindings.error}
          title="Could not load the applications this environment may deploy"
          onRetry={() => void bindings.refetch()}
          className="p-3"
        />
      ) : !bindings.isPending && bound.length === 0 ? (
        <p
          role="status"
          className="bg-muted/60 text-muted-foreground rounded-md border px-3 py-2 text-sm"
          data-testid="deploy-no-bindings"
        >
          No Coolify application is bound to this environment yet.{" "}
          {user?.isAdmin ? "Bind one below to deploy to it." : "Ask an admin to bind the one to deploy to."}
        </p>
      ) : (
        <Field
          id="deploy-app"
          label="Coolify application"
          hint="One of the applications an admin bound to this environment."
          status={appIdStatus}
        >
          {(aria) =>
            bindings.isPending ? (
              <Skeleton className="h-9 w-full" aria-label="Loading the applications" />
            ) : (
              <select
                {...aria}
                data-testid="deploy-app-id"
                className="border-input focus-visible:border-ring focus-visible:ring-ring/50 dark:bg-input/30 h-9 w-full min-w-0 rounded-md border bg-transparent px-3 py-1 font-mono text-sm shadow-xs outline-none focus-visible:ring-[3px] disabled:cursor-not-allowed disabled:opacity-50"
                disabled={disabled}
                value={appId}
                onChange={(e) => {
                  setPicked(e.target.value)
                  edited()
                }}
              >
                {bound.map((b) => (
                  <option key={b.appId} value={b.appId}>
                    {b.appId}
                  </option>
                ))}
              </select>
            )
          }
        </Field>
      )}
      <Field
        id="deploy-branch"
        label="Branch"
        optional
        hint={`Defaults to ${env.branch}. Coolify is switched to this branch if it builds another one.`}
        status={branchStatus}
      >
        {(aria) => (
          <Input
            {...aria}
            data-testid="deploy-branch"
            autoComplete="off"
            spellCheck={false}
            className="font-mono"
            placeholder={env.branch}
            disabled={disabled}
            value={branch}
            onChange={(e) => {
              setBranch(e.target.value)
              edited()
            }}
          />
        )}
      </Field>
      <div className="flex items-center gap-2">
        <Checkbox
          id="deploy-force"
          data-testid="deploy-force"
          checked={force}
          disabled={disabled}
          onCheckedChange={(state) => {
            setForce(state === true)
          }}
        />
        <Label htmlFor="deploy-force" className="font-normal">
          Rebuild without Coolify&apos;s cache
        </Label>
      </div>
      {formError && <DeployError error={formError} />}
      <Button type="submit" data-testid="deploy-button" disabled={cannotDeploy || deploy.isPending}>
        {deploy.isPending ? <LoaderCircle className="animate-spin" aria-hidden /> : <Rocket aria-hidden />}
        {deploy.isPending ? "Asking Coolify…" : "Deploy"}
      </Button>
    </form>
  )
}

function DeployError({ error }: { error: unknown }) {
  if (!(error instanceof ApiError && error.status === 502)) {
    return <FormError message={describeError(error)} data-testid="deploy-error" />
  }
  return (
    <div
      role="alert"
      data-testid="deploy-error"
      data-code={error.code}
      className="border-destructive/30 bg-destructive/5 flex items-start gap-2 rounded-md border px-3 py-2 text-sm"
    >
      <CircleAlert className="text-destructive mt-0.5 size-4 shrink-0" aria-hidden />
      <div className="min-w-0 space-y-0.5">
        <p className="text-destructive font-medium">Coolify did not deploy it</p>
        <p className="text-muted-foreground break-words">{error.message}</p>
      </div>
    </div>
  )
}

function DeploymentHistory({ deployments }: { deployments: ReturnType<typeof useDeployments> }) {
  const [all, setAll] = useState(false)
  const list = deployments.data ?? []
  const shown = all ? list : list.slice(0, SHOWN)

  return (
    <section aria-labelledby="deployments-history-title" className="space-y-2" data-testid="deployment-list">
      <div className="flex items-center gap-2">
        <h3 id="deployments-history-title" className="flex flex-1 items-center gap-1.5 text-sm font-medium">
          <History className="text-muted-foreground size-4" aria-hidden />
          History
        </h3>
        <Button
          variant="ghost"
          size="icon-sm"
          aria-label="Refresh the deployments"
          title="Refresh the deployments"
          className="text-muted-foreground"
          disabled={deployments.isFetching}
          onClick={() => void deployments.refetch()}
        >
          <RefreshCw className={cn(deployments.isFetching && "animate-spin motion-reduce:animate-none")} aria-hidden />
        </Button>
      </div>
      {deployments.isPending ? (
        <div className="space-y-2" aria-busy="true" aria-label="Loading the deployments">
          {[0, 1].map((i) => (
            <Skeleton key={i} className="h-14 w-full" />
          ))}
        </div>
      ) : deployments.isError ? (
        <ErrorState
          error={deployments.error}
          title="Could not load the deployments"
          onRetry={() => void deployments.refetch()}
          className="p-3"
        />
      ) : list.length === 0 ? (
        <p className="text-muted-foreground text-sm" data-testid="deployments-empty">
          No deployments from this environment yet.
        </p>
      ) : (
        <>
          <ol className="divide-y rounded-md border">
            {shown.map((d) => (
              <DeploymentRow key={d.id} deployment={d} />
            ))}
          </ol>
          {list.length > SHOWN && (
            <Button
              variant="outline"
              size="sm"
              className="w-full"
              data-testid="deployment-list-more"
              onClick={() => {
                setAll((v) => !v)
              }}
            >
              {all ? "Show fewer" : `Show all ${list.length}`}
            </Button>
          )}
        </>
      )}
    </section>
  )
}

function DeploymentRow({ deployment: d }: { deployment: Deployment }) {
  // Polls while it is under way; the answers land in the list this row is drawn from.
  useFollowDeployment(d)
  const duration = typeof d.metadata.durationSeconds === "number" ? d.metadata.durationSeconds : undefined
  const commit = meta(d, "commit")
  const problem = meta(d, "error") ?? (isFinal(d.status) ? undefined : meta(d, "lastError"))
  const url = meta(d, "deploymentUrl")
  const previousBranch = meta(d, "previousBranch")

  return (
    <li
      className="min-w-0 space-y-1 px-3 py-2"
      data-testid="deployment-row"
      data-id={d.id}
      data-status={d.status}
      data-coolify-id={d.coolifyDeploymentId ?? undefined}
    >
      <div className="flex min-w-0 items-center gap-2">
        <DeploymentStatusBadge status={d.status} />
        <span className="flex min-w-0 flex-1 items-center gap-1 text-sm">
          <GitBranch className="text-muted-foreground size-3.5 shrink-0" aria-hidden />
          <span className="truncate font-mono" data-testid="deployment-branch">
            {d.branch ?? "—"}
          </span>
        </span>
        <time
          dateTime={d.createdAt}
          title={formatDateTime(d.createdAt)}
          className="text-muted-foreground shrink-0 text-xs"
        >
          {timeAgo(d.createdAt)}
        </time>
      </div>
      <dl className="text-muted-foreground flex min-w-0 flex-wrap items-center gap-x-3 gap-y-0.5 text-xs">
        <div className="flex min-w-0 gap-1">
          <dt>app</dt>
          <dd className="text-foreground/80 truncate font-mono" data-testid="deployment-app-id">
            {d.appId}
          </dd>
        </div>
        {d.coolifyDeploymentId && (
          <div className="flex min-w-0 gap-1">
            <dt>Coolify</dt>
            <dd className="text-foreground/80 truncate font-mono" data-testid="deployment-coolify-id" title={d.coolifyDeploymentId}>
              {d.coolifyDeploymentId}
            </dd>
          </div>
        )}
        {commit && (
          <div className="flex gap-1" title={meta(d, "commitMessage")}>
            <dt>commit</dt>
            <dd className="text-foreground/80 font-mono">{commit.slice(0, 7)}</dd>
          </div>
        )}
        {previousBranch && (
          <div className="flex min-w-0 gap-1" title="Coolify built another branch before; this deployment switched it">
            <dt>switched from</dt>
            <dd className="text-foreground/80 truncate font-mono" data-testid="deployment-previous-branch">
              {previousBranch}
            </dd>
          </div>
        )}
        {duration !== undefined && (
          <div className="flex gap-1">
            <dt className="sr-only">Took</dt>
            <dd>{formatDuration(duration)}</dd>
          </div>
        )}
        {url && (
          <a
            href={url}
            target="_blank"
            rel="noreferrer noopener"
            className="text-info inline-flex items-center gap-0.5 underline-offset-4 hover:underline"
          >
            Open in Coolify
            <ExternalLink className="size-3" aria-hidden />
            <span className="sr-only">(opens in a new tab)</span>
          </a>
        )}
      </dl>
      {problem && (
        <p
          className={cn("text-xs break-words", d.status === "failed" ? "text-destructive" : "text-warning")}
          data-testid="deployment-problem"
        >
          {problem}
        </p>
      )}
    </li>
  )
}

const STATUS_ICON: Record<string, React.ReactNode> = {
  queued: <Clock className="size-3" aria-hidden />,
  in_progress: <LoaderCircle className="size-3 animate-spin motion-reduce:animate-none" aria-hidden />,
  finished: <CircleCheck className="size-3" aria-hidden />,
  failed: <CircleX className="size-3" aria-hidden />,
  cancelled: <CircleSlash className="size-3" aria-hidden />,
}

function DeploymentStatusBadge({ status }: { status: string }) {
  const look = statusLook(status)
  return (
    <span
      data-testid="deployment-status"
      data-status={status}
      title={look.hint}
      aria-live={look.busy ? "polite" : undefined}
      className={cn(
        "inline-flex h-5 shrink-0 items-center gap-1 rounded-full border px-2 text-xs font-medium whitespace-nowrap",
        look.className,
      )}
    >
      {STATUS_ICON[status] ?? <span className="size-1.5 rounded-full bg-current" aria-hidden />}
      {look.label}
    </span>
  )
}
