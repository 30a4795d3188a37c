import { LoaderCircle } from "lucide-react"
import { useState } from "react"
import { Link, useNavigate } from "react-router"

import { Field, type FieldStatus } from "@/components/Field"
import { FormError } from "@/components/States"
import { Button } from "@/components/ui/button"
import { Input } from "@/components/ui/input"
import { ApiError, describeError } from "@/lib/api/errors"
import { MIN_PASSWORD_LENGTH as MIN_PASSWORD, useAuth } from "@/lib/auth/auth"
import { AuthLayout } from "@/features/auth/AuthLayout"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"

export function RegisterPage() {
  useDocumentTitle("Create your account")
  const { register } = useAuth()
  const navigate = useNavigate()
  const [email, setEmail] = useState("")
  const [name, setName] = useState("")
  const [password, setPassword] = useState("")
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<unknown>(null)

  const submit = async (event: React.SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault()
    setPending(true)
    setError(null)
    try {
      await register(email.trim(), name.trim(), password)
      void navigate("/", { replace: true })
    } catch (e) {
      setError(e)
      setPending(false)
    }
  }

  const fields: Record<string, string> = error instanceof ApiError ? { ...error.fields } : {}
  if (error instanceof ApiError && error.code === "email_taken") fields.email = error.message
  const fieldErrorShown = Object.keys(fields).length > 0

  const passwordStatus: FieldStatus = fields.password
    ? { kind: "error", text: fields.password }
    : password.length > 0 && password.length < MIN_PASSWORD
      ? { kind: "info", text: `${MIN_PASSWORD - password.length} more characters needed` }
      : password.length >= MIN_PASSWORD
        ? { kind: "ok", text: "Long enough" }
        : { kind: "none" }

  const ready = email.trim() !== "" && name.trim() !== "" && password.length >= MIN_PASSWORD

  return (
    <AuthLayout
      title="Create your account"
      subtitle={
        <>
          Already have one?{" "}
          <Link to="/signin" className="text-foreground font-medium underline underline-offset-4">
            Sign in
          </Link>
        </>
      }
    >
      <form className="grid gap-4" onSubmit={(e) => void submit(e)} noValidate data-testid="register-form">
        <FormError
          message={error && !fieldErrorShown ? describeError(error) : null}
          data-testid="register-error"
        />
        <Field
          id="register-email"
          label="Email"
          status={fields.email ? { kind: "error", text: fields.email } : { kind: "none" }}
        >
          {(aria) => (
            <Input
              {...aria}
              data-testid="register-email"
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
          id="register-name"
          label="Name"
          status={fields.name ? { kind: "error", text: fields.name } : { kind: "none" }}
        >
          {(aria) => (
            <Input
              {...aria}
              data-testid="register-name"
              autoComplete="name"
              required
              value={name}
              onChange={(e) => {
                setName(e.target.value)
              }}
            />
          )}
        </Field>
        <Field id="register-password" label="Password" hint={`At least ${MIN_PASSWORD} characters.`} status={passwordStatus}>
          {(aria) => (
            <Input
              {...aria}
              data-testid="register-password"
              type="password"
              autoComplete="new-password"
              required
              minLength={MIN_PASSWORD}
              value={password}
              onChange={(e) => {
                setPassword(e.target.value)
              }}
            />
          )}
        </Field>
        <Button type="submit" data-testid="register-submit" disabled={pending || !ready}>
          {pending && <LoaderCircle className="animate-spin" aria-hidden />}
          Create account
        </Button>
      </form>
    </AuthLayout>
  )
}
