import { useQuery, useQueryClient } from "@tanstack/react-query"
import { LoaderCircle, SlidersHorizontal } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { Field } from "@/components/Field"
import { ErrorState, FormError } from "@/components/States"
import { Badge } from "@/components/ui/badge"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog"
import { Input } from "@/components/ui/input"
import { Skeleton } from "@/components/ui/skeleton"
import { ApiError, describeError } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import type { AdminUser, LimitCounts, LimitKey, LimitsPatch } from "@/lib/api/types"
import { queryKeys } from "@/lib/queries"
import { cn } from "@/lib/utils"
import { LIMITS, MAX_LIMIT, limitProblem } from "@/features/settings/limits"

/** The users of the server with what each has against their limits; an admin raises or
 * lowers one user's limits from here. */
export function UsersAdminCard() {
  const users = useQuery({
    queryKey: queryKeys.adminUsers,
    queryFn: ({ signal }) => apiCalls.listUsers({ offset: 0, limit: 500 }, signal),
  })
  const [editing, setEditing] = useState<AdminUser | null>(null)
  return (
    <Card data-testid="users-admin-card">
      <CardHeader>
        <CardTitle>Users</CardTitle>
        <CardDescription>
          Each user's usage against their limits. A limit set for a user replaces the server's default for them.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {users.isPending ? (
          <div className="space-y-3">
            {[0, 1, 2].map((i) => (
              <Skeleton key={i} className="h-8 w-full" />
            ))}
          </div>
        ) : users.isError ? (
          <ErrorState error={users.error} title="Could not load the users" onRetry={() => void users.refetch()} />
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-sm">
              <thead>
                <tr className="text-muted-foreground border-b text-left">
                  <th className="py-2 pr-4 font-medium">User</th>
                  {LIMITS.map((l) => (
                    <th key={l.key} className="px-2 py-2 text-right font-medium">
                      {l.label}
                    </th>
                  ))}
                  <th className="sr-only">Actions</th>
                </tr>
              </thead>
              <tbody>
                {users.data.users.map((user) => (
                  <tr key={user.id} data-testid="user-row" data-email={user.email} className="border-b last:border-0">
                    <td className="min-w-44 py-2 pr-4">
                      <div className="flex items-center gap-2 font-medium">
                        {user.name}
                        {user.isAdmin && <Badge variant="secondary">Admin</Badge>}
                      </div>
                      <div className="text-muted-foreground max-w-56 truncate" title={user.email}>
                        {user.email}
                      </div>
                    </td>
                    {LIMITS.map(({ key }) => (
                      <td
                        key={key}
                        data-testid={`user-${key}`}
                        className={cn(
                          "px-2 py-2 text-right tabular-nums",
                          user.usage[key] >= user.limits[key] && "text-destructive",
                        )}
                        title={user.overrides[key] === null ? "The server's default" : "Set for this user"}
                      >
                        {user.usage[key]} / {user.limits[key]}
                        {user.overrides[key] !== null && <span aria-label="set for this user">*</span>}
                      </td>
                    ))}
                    <td className="py-2 pl-2 text-right">
                      <Button
                        variant="outline"
                        size="sm"
                        data-testid="edit-limits-button"
                        onClick={() => {
                          setEditing(user)
                        }}
                      >
                        <SlidersHorizontal aria-hidden />
                        Limits
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="text-muted-foreground mt-3 text-xs">* set for this user; the others are the server's defaults.</p>
          </div>
        )}
      </CardContent>
      <Dialog
        open={editing !== null}
        onOpenChange={(open) => {
          if (!open) setEditing(null)
        }}
      >
        <DialogContent data-testid="limits-dialog">
          {editing && users.data && (
            <LimitsForm
              user={editing}
              defaults={users.data.defaults}
              onDone={() => {
                setEditing(null)
              }}
            />
          )}
        </DialogContent>
      </Dialog>
    </Card>
  )
}

function LimitsForm({ user, defaults, onDone }: { user: AdminUser; defaults: LimitCounts; onDone: () => void }) {
  const queryClient = useQueryClient()
  const [values, setValues] = useState<Record<LimitKey, string>>(() => {
    const initial = {} as Record<LimitKey, string>
    for (const { key } of LIMITS) initial[key] = user.overrides[key]?.toString() ?? ""
    return initial
  })
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const serverFields = error instanceof ApiError ? error.fields : {}
  const problems = LIMITS.map(({ key }) => limitProblem(values[key]))
  const ready = !pending && problems.every((p) => p === null)

  const submit = async (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (!ready) return
    const patch: LimitsPatch = {}
    for (const { key } of LIMITS) {
      const text = values[key].trim()
      patch[key] = text === "" ? null : Number(text)
    }
    setPending(true)
    setError(null)
    try {
      await apiCalls.setUserLimits(user.id, patch)
      await queryClient.invalidateQueries({ queryKey: queryKeys.adminUsers })
      toast.success(`Limits of ${user.name} saved`)
      onDone()
    } catch (e) {
      setError(e)
    } finally {
      setPending(false)
    }
  }

  const shownInFields = LIMITS.some(({ key }) => serverFields[key])
  return (
    <form onSubmit={(e) => void submit(e)} noValidate className="grid gap-4" data-testid="limits-form">
      <DialogHeader>
        <DialogTitle>Limits of {user.name}</DialogTitle>
        <DialogDescription>
          Whole numbers from 0 to {MAX_LIMIT}; leave a field empty for the server's default. A limit below what the user
          has takes nothing away, it only stops new ones.
        </DialogDescription>
      </DialogHeader>
      <FormError message={error && !shownInFields ? describeError(error) : null} />
      {LIMITS.map(({ key, label }, i) => {
        const problem = serverFields[key] ?? problems[i]
        return (
          <Field
            key={key}
            id={`limit-${key}`}
            label={label}
            hint={`Has ${user.usage[key]}; the server's default is ${defaults[key]}.`}
            status={problem ? { kind: "error", text: problem } : { kind: "none" }}
          >
            {(aria) => (
              <Input
                {...aria}
                inputMode="numeric"
                data-testid={`limit-input-${key}`}
                placeholder="default"
                value={values[key]}
                onChange={(e) => {
                  setValues((v) => ({ ...v, [key]: e.target.value }))
                  setError(null)
                }}
              />
            )}
          </Field>
        )
      })}
      <DialogFooter>
        <Button type="button" variant="outline" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" disabled={!ready} data-testid="save-limits-button">
          {pending && <LoaderCircle className="animate-spin" aria-hidden />}
          Save
        </Button>
      </DialogFooter>
    </form>
  )
}
