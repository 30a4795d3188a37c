import { Link2, LoaderCircle, Plus, X } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Input } from "@/components/ui/input"
import { ApiError, describeError } from "@/lib/api/errors"
import type { Environment } from "@/lib/api/types"
import { formatDateTime } from "@/lib/format"
import { appIdProblem } from "@/features/deployments/deployments"
import { useChangeBinding, useDeploymentBindings } from "@/features/deployments/hooks"

/** For admins: which Coolify applications the environment may deploy, to bind and unbind. */
export function DeploymentBindings({ environment: env }: { environment: Environment }) {
  const bindings = useDeploymentBindings(env.id)
  const change = useChangeBinding(env.id)
  const [appId, setAppId] = useState("")
  const [attempted, setAttempted] = useState(false)
  const bound = bindings.data ?? []

  const problem = appIdProblem(appId)
  const error = change.error
  const serverField = error instanceof ApiError ? error.fields.appId : undefined
  const status: FieldStatus = serverField
    ? { kind: "error", text: serverField }
    : problem && (attempted || appId.trim() !== "")
      ? { kind: "error", text: problem }
      : { kind: "none" }
  const formError = error && !serverField ? describeError(error) : null

  const bind = (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setAttempted(true)
    if (problem || change.isPending) return
    const id = appId.trim()
    change.mutate(
      { appId: id, bind: true },
      {
        onSuccess: () => {
          toast.success(`${id} is bound to ${env.name}`)
          setAppId("")
          setAttempted(false)
        },
      },
    )
  }

  const unbind = (id: string) => {
    change.mutate(
      { appId: id, bind: false },
      {
        onSuccess: () => toast.success(`${id} is no longer bound to ${env.name}`),
      },
    )
  }

  return (
    <section aria-labelledby="deployment-bindings-title" className="space-y-2" data-testid="deployment-bindings">
      <h3 id="deployment-bindings-title" className="flex items-center gap-1.5 text-sm font-medium">
        <Link2 className="text-muted-foreground size-4" aria-hidden />
        Bound applications
        <span className="text-muted-foreground text-xs font-normal">(admins)</span>
      </h3>
      {bound.length > 0 && (
        <ul className="divide-y rounded-md border">
          {bound.map((b) => (
            <li
              key={b.appId}
              className="flex min-w-0 items-center gap-2 px-3 py-1.5"
              data-testid="deployment-binding"
              data-app-id={b.appId}
            >
              <span className="min-w-0 flex-1 truncate font-mono text-sm" title={`Bound ${formatDateTime(b.createdAt)}`}>
                {b.appId}
              </span>
              <Button
                variant="ghost"
                size="icon-sm"
                className="text-muted-foreground hover:text-destructive"
                aria-label={`Unbind ${b.appId}`}
                title={`Unbind ${b.appId}`}
                data-testid="deployment-binding-remove"
                disabled={change.isPending}
                onClick={() => {
                  unbind(b.appId)
                }}
              >
                <X aria-hidden />
              </Button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={bind} noValidate className="flex items-start gap-2" data-testid="deployment-binding-form">
        <Field id="bind-app" label="Coolify application uuid" status={status} className="min-w-0 flex-1 [&>label]:sr-only">
          {(aria) => (
            <Input
              {...aria}
              data-testid="deployment-binding-input"
              autoComplete="off"
              spellCheck={false}
              className="font-mono"
              placeholder="uuid, e.g. ro04ok80o8oc4kkcco8kow8s"
              value={appId}
              onChange={(e) => {
                setAppId(e.target.value)
                if (change.isError) change.reset()
              }}
            />
          )}
        </Field>
        <Button
          type="submit"
          variant="outline"
          data-testid="deployment-binding-add"
          disabled={change.isPending || (attempted && problem !== null)}
        >
          {change.isPending ? <LoaderCircle className="animate-spin" aria-hidden /> : <Plus aria-hidden />}
          Bind
        </Button>
      </form>
      <FormError message={formError} data-testid="deployment-binding-error" />
    </section>
  )
}
