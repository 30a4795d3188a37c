import { LoaderCircle, LogOut, Monitor, Moon, Sun } from "lucide-react"
import { useState } from "react"
import { useNavigate } from "react-router"
import { toast } from "sonner"

import { ConfirmDialog } from "@/components/ConfirmDialog"
import { Field, type FieldStatus } from "@/components/Field"
import { ErrorState, FormError } from "@/components/States"
import { Badge } from "@/components/ui/badge"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card"
import { Input } from "@/components/ui/input"
import { Skeleton } from "@/components/ui/skeleton"
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"
import { ApiError, describeError } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import { MIN_PASSWORD_LENGTH, useAuth } from "@/lib/auth/auth"
import { formatDate } from "@/lib/format"
import { useTheme, type ThemeChoice } from "@/lib/theme/theme"
import { cn } from "@/lib/utils"
import { useQuery } from "@tanstack/react-query"
import { queryKeys } from "@/lib/queries"
import { GitHubCard } from "@/features/github/GitHubCard"
import { NotificationsCard } from "@/features/notifications/NotificationsCard"
import { UsageCard } from "@/features/settings/UsageCard"
import { UsersAdminCard } from "@/features/settings/UsersAdminCard"

export function SettingsPage() {
  useDocumentTitle("Settings")
  const me = useQuery({ queryKey: queryKeys.me, queryFn: ({ signal }) => apiCalls.me(signal) })
  const isAdmin = me.data?.isAdmin === true
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <div className="space-y-1">
        <h1 className="text-2xl font-semibold tracking-tight">Settings</h1>
        <p className="text-muted-foreground text-sm">
          Your account, usage, GitHub, notifications, password, sign-ins and appearance{isAdmin ? ", and the server's users" : ""}.
        </p>
      </div>
      <Tabs defaultValue="account" className="gap-4">
        <TabsList>
          <TabsTrigger value="account">Account</TabsTrigger>
          <TabsTrigger value="security">Security</TabsTrigger>
          <TabsTrigger value="appearance">Appearance</TabsTrigger>
          {isAdmin && (
            <TabsTrigger value="users" data-testid="users-tab">
              Users
            </TabsTrigger>
          )}
        </TabsList>
        <TabsContent value="account" className="space-y-6">
          <ProfileCard />
          <UsageCard />
          <GitHubCard />
          <NotificationsCard />
        </TabsContent>
        <TabsContent value="security" className="space-y-6">
          <ChangePasswordCard />
          <SignOutEverywhereCard />
        </TabsContent>
        <TabsContent value="appearance">
          <AppearanceCard />
        </TabsContent>
        {isAdmin && (
          <TabsContent value="users">
            <UsersAdminCard />
          </TabsContent>
        )}
      </Tabs>
    </div>
  )
}

function ProfileCard() {
  const me = useQuery({ queryKey: queryKeys.me, queryFn: ({ signal }) => apiCalls.me(signal) })
  return (
    <Card data-testid="profile-card">
      <CardHeader>
        <CardTitle>Profile</CardTitle>
        <CardDescription>The account you are signed in with.</CardDescription>
      </CardHeader>
      <CardContent>
        {me.isPending ? (
          <div className="space-y-3">
            {[0, 1, 2, 3].map((i) => (
              <Skeleton key={i} className="h-5 w-64 max-w-full" />
            ))}
          </div>
        ) : me.isError ? (
          <ErrorState error={me.error} title="Could not load your profile" onRetry={() => void me.refetch()} />
        ) : (
          <dl className="grid gap-x-6 gap-y-3 text-sm sm:grid-cols-[10rem_1fr]">
            <dt className="text-muted-foreground">Name</dt>
            <dd data-testid="profile-name">{me.data.name}</dd>
            <dt className="text-muted-foreground">Email</dt>
            <dd data-testid="profile-email" className="break-all">
              {me.data.email}
            </dd>
            <dt className="text-muted-foreground">Role</dt>
            <dd>{me.data.isAdmin ? <Badge>Administrator</Badge> : <Badge variant="secondary">User</Badge>}</dd>
            {me.data.githubUsername && (
              <>
                <dt className="text-muted-foreground">GitHub</dt>
                <dd>{me.data.githubUsername}</dd>
              </>
            )}
            <dt className="text-muted-foreground">Member since</dt>
            <dd>{formatDate(me.data.createdAt)}</dd>
          </dl>
        )}
      </CardContent>
    </Card>
  )
}

function ChangePasswordCard() {
  const [current, setCurrent] = useState("")
  const [next, setNext] = useState("")
  const [confirm, setConfirm] = useState("")
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<unknown>(null)

  const apiError = error instanceof ApiError ? error : null
  const currentError =
    apiError?.fields.currentPassword ?? (apiError?.code === "invalid_credentials" ? apiError.message : undefined)
  const newError = apiError?.fields.newPassword
  const shownInFields = Boolean(currentError ?? newError)

  const newStatus: FieldStatus = newError
    ? { kind: "error", text: newError }
    : next.length > 0 && next.length < MIN_PASSWORD_LENGTH
      ? { kind: "info", text: `${MIN_PASSWORD_LENGTH - next.length} more characters needed` }
      : { kind: "none" }
  const mismatch = confirm.length > 0 && confirm !== next
  const ready = current !== "" && next.length >= MIN_PASSWORD_LENGTH && confirm === next && !pending

  const submit = async (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (!ready) return
    setPending(true)
    setError(null)
    try {
      await apiCalls.changePassword(current, next)
      setCurrent("")
      setNext("")
      setConfirm("")
      toast.success("Password changed", { description: "Your other sign-ins have been ended; this one stays." })
    } catch (e) {
      setError(e)
    } finally {
      setPending(false)
    }
  }

  return (
    <Card>
      <form onSubmit={(e) => void submit(e)} noValidate data-testid="change-password-form" className="contents">
        <CardHeader>
          <CardTitle>Change password</CardTitle>
          <CardDescription>Changing it ends your sign-ins on other devices.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <FormError message={error && !shownInFields ? describeError(error) : null} />
          <Field
            id="current-password"
            label="Current password"
            status={currentError ? { kind: "error", text: currentError } : { kind: "none" }}
          >
            {(aria) => (
              <Input
                {...aria}
                type="password"
                autoComplete="current-password"
                data-testid="current-password-input"
                value={current}
                onChange={(e) => {
                  setCurrent(e.target.value)
                  setError(null)
                }}
              />
            )}
          </Field>
          <Field id="new-password" label="New password" hint={`At least ${MIN_PASSWORD_LENGTH} characters.`} status={newStatus}>
            {(aria) => (
              <Input
                {...aria}
                type="password"
                autoComplete="new-password"
                data-testid="new-password-input"
                value={next}
                onChange={(e) => {
                  setNext(e.target.value)
                  setError(null)
                }}
              />
            )}
          </Field>
          <Field
            id="confirm-password"
            label="Repeat the new password"
            status={mismatch ? { kind: "error", text: "The two passwords differ." } : { kind: "none" }}
          >
            {(aria) => (
              <Input
                {...aria}
                type="password"
                autoComplete="new-password"
                data-testid="confirm-password-input"
                value={confirm}
                onChange={(e) => {
                  setConfirm(e.target.value)
                }}
              />
            )}
          </Field>
        </CardContent>
        <CardFooter className="justify-end">
          <Button type="submit" disabled={!ready} data-testid="change-password-submit">
            {pending && <LoaderCircle className="animate-spin" aria-hidden />}
            Change password
          </Button>
        </CardFooter>
      </form>
    </Card>
  )
}

function SignOutEverywhereCard() {
  const { signOutEverywhere } = useAuth()
  const navigate = useNavigate()
  const [open, setOpen] = useState(false)
  return (
    <Card>
      <CardHeader>
        <CardTitle>Sign out everywhere</CardTitle>
        <CardDescription>
          Ends every sign-in of your account, on every device and browser, including this one. Open terminals close.
        </CardDescription>
      </CardHeader>
      <CardFooter className="justify-end">
        <Button
          variant="outline"
          data-testid="sign-out-everywhere-button"
          onClick={() => {
            setOpen(true)
          }}
        >
          <LogOut aria-hidden />
          Sign out everywhere
        </Button>
      </CardFooter>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        destructive
        title="Sign out everywhere?"
        description={<p>Every device signed in to your account will have to sign in again, this one included.</p>}
        confirmLabel="Sign out everywhere"
        onConfirm={async () => {
          await signOutEverywhere()
          toast.success("Signed out everywhere")
          void navigate("/signin", { replace: true })
        }}
      />
    </Card>
  )
}

const THEMES: { value: ThemeChoice; label: string; icon: React.ReactNode }[] = [
  { value: "light", label: "Light", icon: <Sun aria-hidden /> },
  { value: "dark", label: "Dark", icon: <Moon aria-hidden /> },
  { value: "system", label: "System", icon: <Monitor aria-hidden /> },
]

function AppearanceCard() {
  const { choice, setChoice } = useTheme()
  return (
    <Card>
      <CardHeader>
        <CardTitle>Appearance</CardTitle>
        <CardDescription>The theme of the pages and the terminal. System follows your device.</CardDescription>
      </CardHeader>
      <CardContent>
        <div role="radiogroup" aria-label="Theme" className="grid grid-cols-3 gap-3">
          {THEMES.map((t) => (
            <button
              key={t.value}
              type="button"
              role="radio"
              aria-checked={choice === t.value}
              onClick={() => {
                setChoice(t.value)
              }}
              className={cn(
                "focus-visible:ring-ring/50 flex flex-col items-center gap-2 rounded-lg border p-4 text-sm outline-none focus-visible:ring-[3px] [&_svg]:size-5",
                choice === t.value ? "border-primary bg-accent" : "hover:bg-accent/50",
              )}
            >
              {t.icon}
              {t.label}
            </button>
          ))}
        </div>
      </CardContent>
    </Card>
  )
}
