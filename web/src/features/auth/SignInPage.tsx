import { LoaderCircle } from "lucide-react"
import { useState } from "react"
import { Link, useNavigate, useSearchParams } from "react-router"

import { Field } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Input } from "@/components/ui/input"
import { ApiError, describeError } from "@/lib/api/errors"
import { safeNext, useAuth } from "@/lib/auth/auth"
import { AuthLayout } from "@/features/auth/AuthLayout"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"

export function SignInPage() {
  useDocumentTitle("Sign in")
  const { signIn } = useAuth()
  const navigate = useNavigate()
  const [params] = useSearchParams()
  const [email, setEmail] = useState("")
  const [password, setPassword] = useState("")
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<ApiError | Error | null>(null)

  const submit = async (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setPending(true)
    setError(null)
    try {
      await signIn(email.trim(), password)
      void navigate(safeNext(params.get("next")), { replace: true })
    } catch (e) {
      setError(e instanceof Error ? e : new Error(describeError(e)))
      setPending(false)
    }
  }

  const fields = error instanceof ApiError ? error.fields : {}

  return (
    <AuthLayout
      title="Sign in to Craftastic"
      subtitle={
        <>
          No account yet?{" "}
          <Link to="/register" className="text-foreground font-medium underline underline-offset-4">
            Create one
          </Link>
        </>
      }
    >
      <form className="grid gap-4" onSubmit={(e) => void submit(e)} noValidate data-testid="signin-form">
        <FormError message={error ? describeError(error) : null} data-testid="signin-error" />
        <Field
          id="signin-email"
          label="Email"
          status={fields.email ? { kind: "error", text: fields.email } : { kind: "none" }}
        >
          {(aria) => (
            <Input
              {...aria}
              data-testid="signin-email"
              type="email"
              autoComplete="email"
              autoFocus
              required
              value={email}
              onChange={(e) => {
                setEmail(e.target.value)
              }}
            />
          )}
        </Field>
        <Field
          id="signin-password"
          label="Password"
          status={fields.password ? { kind: "error", text: fields.password } : { kind: "none" }}
        >
          {(aria) => (
            <Input
              {...aria}
              data-testid="signin-password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => {
                setPassword(e.target.value)
              }}
            />
          )}
        </Field>
        <Button
          type="submit"
          data-testid="signin-submit"
          disabled={pending || email.trim() === "" || password === ""}
        >
          {pending && <LoaderCircle className="animate-spin" aria-hidden />}
          Sign in
        </Button>
      </form>
    </AuthLayout>
  )
}
