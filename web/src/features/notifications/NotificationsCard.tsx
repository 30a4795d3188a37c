import { useQuery, useQueryClient } from "@tanstack/react-query"
import { BellRing, CircleCheck, CircleSlash, LoaderCircle, Pencil, Send, Trash2, Webhook } from "lucide-react"
import { useState } from "react"
import { toast } from "sonner"

import { ConfirmDialog } from "@/components/ConfirmDialog"
import { Field, type FieldStatus } from "@/components/Field"
import { ErrorState, FormError } from "@/components/States"
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Input } from "@/components/ui/input"
import { Label } from "@/components/ui/label"
import { Separator } from "@/components/ui/separator"
import { Skeleton } from "@/components/ui/skeleton"
import { Switch } from "@/components/ui/switch"
import { ApiError, describeError } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import type { NotificationSettingsPatch } from "@/lib/api/types"
import { queryKeys } from "@/lib/queries"
import {
  requestNotificationPermission,
  useNotificationPermission,
  type BrowserPermission,
} from "@/features/notifications/permission"
import { webhookUrlProblem } from "@/features/notifications/webhook"

/** Saves a change with a plain call (a mutation's cache would keep a webhook's address) and
 * writes the answer into the settings' query. */
function useSaveSettings() {
  const queryClient = useQueryClient()
  return async (patch: NotificationSettingsPatch) => {
    const settings = await apiCalls.updateNotificationSettings(patch)
    queryClient.setQueryData(queryKeys.notificationSettings, settings)
    return settings
  }
}

/** The user's notifications: in this browser, and to a webhook. */
export function NotificationsCard() {
  const settings = useQuery({
    queryKey: queryKeys.notificationSettings,
    queryFn: ({ signal }) => apiCalls.notificationSettings(signal),
  })
  return (
    <Card data-testid="notifications-card">
      <CardHeader>
        <CardTitle>Notifications</CardTitle>
        <CardDescription>
          Be told when an agent asks you to approve an action, waits for you, finishes a long turn or exits with an
          error. Never about a session whose terminal you have open, and at most once a minute per session.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {settings.isPending ? (
          <div className="space-y-3" aria-busy="true" aria-label="Loading the notification settings">
            <Skeleton className="h-6 w-full" />
            <Skeleton className="h-5 w-64 max-w-full" />
            <Skeleton className="h-9 w-full" />
          </div>
        ) : settings.isError ? (
          <ErrorState
            error={settings.error}
            title="Could not load your notification settings"
            onRetry={() => void settings.refetch()}
          />
        ) : (
          <div className="grid gap-6">
            <BrowserSetting on={settings.data.browser} />
            <Separator />
            <WebhookSetting set={settings.data.webhook} />
          </div>
        )}
      </CardContent>
    </Card>
  )
}

function BrowserSetting({ on }: { on: boolean }) {
  const save = useSaveSettings()
  const permission = useNotificationPermission()
  /** The value being saved. */
  const [saving, setSaving] = useState<boolean | null>(null)
  const [error, setError] = useState<unknown>(null)

  const change = async (next: boolean) => {
    // Asked first, within the click: browsers ask only during a user's gesture.
    const asked = next ? requestNotificationPermission() : null
    setSaving(next)
    setError(null)
    try {
      await save({ browser: next })
      await asked
    } catch (e) {
      setError(e)
    } finally {
      setSaving(null)
    }
  }

  return (
    <section aria-labelledby="notifications-browser-label" className="grid gap-3">
      <div className="flex items-start justify-between gap-4">
        <div className="grid gap-1.5">
          <Label id="notifications-browser-label" htmlFor="notifications-browser">
            Browser notifications
          </Label>
          <p id="notifications-browser-hint" className="text-muted-foreground text-sm">
            Shown by this browser while Craftastic is open in a tab, even one in the background. Clicking one opens the
            session's terminal.
          </p>
        </div>
        <Switch
          id="notifications-browser"
          checked={saving ?? on}
          disabled={saving !== null}
          aria-describedby="notifications-browser-hint notifications-permission"
          data-testid="notifications-browser-toggle"
          className="mt-0.5"
          onCheckedChange={(next) => void change(next)}
        />
      </div>
      <PermissionLine
        permission={permission}
        on={on}
        onAllow={() => {
          void requestNotificationPermission()
        }}
      />
      <FormError message={error ? describeError(error) : null} />
    </section>
  )
}

/** What this browser allows, and what to do about it. */
function PermissionLine({
  permission,
  on,
  onAllow,
}: {
  permission: BrowserPermission
  on: boolean
  onAllow: () => void
}) {
  const common = { id: "notifications-permission", "data-testid": "notifications-permission", "data-state": permission }
  switch (permission) {
    case "unsupported":
      return (
        <p {...common} className="text-muted-foreground flex items-start gap-1.5 text-sm">
          <CircleSlash className="mt-0.5 size-4 shrink-0" aria-hidden />
          This browser cannot show notifications. While Craftastic is open, they appear as messages inside the page
          instead.
        </p>
      )
    case "denied":
      return (
        <Alert {...common} role="status">
          <CircleSlash aria-hidden />
          <AlertTitle className="line-clamp-none">This browser blocks notifications from Craftastic</AlertTitle>
          <AlertDescription>
            <p>
              While Craftastic is open, they appear as messages inside the page instead. To get them from the browser,
              open this site's settings (the icon at the left of the address bar), allow Notifications, then reload the
              page.
            </p>
          </AlertDescription>
        </Alert>
      )
    case "default":
      return on ? (
        <div {...common} className="flex flex-wrap items-center gap-x-3 gap-y-2 text-sm">
          <span className="text-muted-foreground">This browser has not been allowed to show them yet.</span>
          <Button variant="outline" size="sm" data-testid="notifications-allow" onClick={onAllow}>
            <BellRing aria-hidden />
            Allow in this browser
          </Button>
        </div>
      ) : (
        <p {...common} className="text-muted-foreground text-sm">
          Turning them on asks this browser for its permission.
        </p>
      )
    case "granted":
      return (
        <p {...common} className="text-success flex items-center gap-1.5 text-sm">
          <CircleCheck className="size-4 shrink-0" aria-hidden />
          This browser may show them.
        </p>
      )
  }
}

type TestState = { kind: "idle" } | { kind: "sending" } | { kind: "sent" } | { kind: "failed"; message: string }

function WebhookSetting({ set }: { set: boolean }) {
  const queryClient = useQueryClient()
  const save = useSaveSettings()
  const [replacing, setReplacing] = useState(false)
  const [value, setValue] = useState("")
  const [touched, setTouched] = useState(false)
  const [pending, setPending] = useState(false)
  /** The server's word on the address it refused. */
  const [refused, setRefused] = useState<string | null>(null)
  const [formError, setFormError] = useState<string | null>(null)
  const [removing, setRemoving] = useState(false)
  const [test, setTest] = useState<TestState>({ kind: "idle" })

  const editing = !set || replacing
  const problem = webhookUrlProblem(value)
  const status: FieldStatus = refused
    ? { kind: "error", text: refused }
    : problem && touched && value !== ""
      ? { kind: "error", text: problem }
      : { kind: "none" }

  const reset = () => {
    setValue("")
    setTouched(false)
    setRefused(null)
    setFormError(null)
  }

  const submit = async (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setTouched(true)
    if (pending || problem) return
    setPending(true)
    setRefused(null)
    setFormError(null)
    try {
      await save({ webhookUrl: value.trim() })
      reset()
      setReplacing(false)
      setTest({ kind: "idle" })
      toast.success(set ? "Webhook replaced" : "Webhook set")
    } catch (e) {
      const field = e instanceof ApiError ? e.fields.webhookUrl : undefined
      if (field) setRefused(field)
      else setFormError(describeError(e))
    } finally {
      setPending(false)
    }
  }

  const sendTest = async () => {
    setTest({ kind: "sending" })
    try {
      await apiCalls.testNotification()
      setTest({ kind: "sent" })
    } catch (e) {
      const notSet = e instanceof ApiError && e.code === "webhook_not_set"
      setTest({ kind: "failed", message: notSet ? "No webhook is set: set one first." : describeError(e) })
      if (notSet) void queryClient.invalidateQueries({ queryKey: queryKeys.notificationSettings })
    }
  }

  return (
    <section aria-labelledby="notifications-webhook-heading" className="grid gap-4">
      <div className="grid gap-1.5">
        <h3 id="notifications-webhook-heading" className="text-sm leading-none font-medium">
          Webhook
        </h3>
        <p className="text-muted-foreground text-sm">
          An address that gets a JSON POST for each notification: an ntfy topic, a Slack-compatible incoming webhook…
          It is kept sealed and never shown again, not even to you.
        </p>
      </div>

      {set && !replacing && (
        <div
          data-testid="webhook-status"
          data-state="set"
          className="flex flex-wrap items-center gap-x-4 gap-y-2 rounded-lg border px-3 py-2"
        >
          <span className="flex min-w-40 flex-1 items-center gap-2 text-sm">
            <Webhook className="text-success size-4 shrink-0" aria-hidden />A webhook is set.
          </span>
          <div className="flex flex-wrap gap-2">
            <Button
              variant="outline"
              size="sm"
              data-testid="webhook-replace"
              onClick={() => {
                setReplacing(true)
              }}
            >
              <Pencil aria-hidden />
              Replace
            </Button>
            <Button
              variant="outline"
              size="sm"
              data-testid="webhook-remove"
              onClick={() => {
                setRemoving(true)
              }}
            >
              <Trash2 aria-hidden />
              Remove
            </Button>
          </div>
        </div>
      )}

      {editing && (
        <form
          onSubmit={(e) => void submit(e)}
          noValidate
          className="grid gap-3"
          data-testid="webhook-form"
          data-state={set ? "replace" : "unset"}
        >
          <FormError message={formError} />
          <Field
            id="webhook-url"
            label={set ? "New webhook URL" : "Webhook URL"}
            hint="Starts with https:// (or http://), as in https://ntfy.sh/my-topic."
            status={status}
          >
            {(aria) => (
              <Input
                {...aria}
                type="password"
                autoComplete="off"
                spellCheck={false}
                autoCapitalize="none"
                data-testid="webhook-input"
                placeholder="https://…"
                value={value}
                onChange={(e) => {
                  setValue(e.target.value)
                  setRefused(null)
                  setFormError(null)
                }}
                onBlur={() => {
                  setTouched(true)
                }}
              />
            )}
          </Field>
          <div className="flex flex-wrap justify-end gap-2">
            {set && (
              <Button
                type="button"
                variant="outline"
                data-testid="webhook-cancel"
                onClick={() => {
                  reset()
                  setReplacing(false)
                }}
              >
                Cancel
              </Button>
            )}
            <Button type="submit" disabled={pending || value.trim() === ""} data-testid="webhook-save">
              {pending && <LoaderCircle className="animate-spin" aria-hidden />}
              {set ? "Replace webhook" : "Save webhook"}
            </Button>
          </div>
        </form>
      )}

      <div className="grid gap-2">
        <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
          <Button
            variant="outline"
            disabled={!set || test.kind === "sending"}
            aria-describedby="notifications-test-hint"
            data-testid="notifications-test"
            onClick={() => void sendTest()}
          >
            {test.kind === "sending" ? <LoaderCircle className="animate-spin" aria-hidden /> : <Send aria-hidden />}
            Send a test
          </Button>
          <span id="notifications-test-hint" className="text-muted-foreground text-xs">
            {set ? "Sends a test notification to the webhook now." : "Set a webhook to send it a test."}
          </span>
        </div>
        <div aria-live="polite">
          {test.kind === "sent" && (
            <p
              data-testid="notifications-test-result"
              data-state="sent"
              className="text-success flex items-center gap-1.5 text-sm"
            >
              <CircleCheck className="size-4 shrink-0" aria-hidden />
              Sent: the webhook took the test notification.
            </p>
          )}
        </div>
        {test.kind === "failed" && (
          <FormError data-testid="notifications-test-result" data-state="failed" message={test.message} />
        )}
      </div>

      <ConfirmDialog
        open={removing}
        onOpenChange={setRemoving}
        destructive
        title="Remove the webhook?"
        description={<p>Craftastic forgets its address and sends nothing there any more. To use it again, enter it again.</p>}
        confirmLabel="Remove webhook"
        onConfirm={async () => {
          await save({ webhookUrl: null })
          reset()
          setTest({ kind: "idle" })
          toast.success("Webhook removed")
        }}
      />
    </section>
  )
}
