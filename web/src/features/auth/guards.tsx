import { Navigate, Outlet, useLocation, useSearchParams } from "react-router"

import { safeNext, useAuth } from "@/lib/auth/auth"

/** Pages for signed-in users; anyone else goes to the sign-in page and comes back after. */
export function RequireAuth() {
  const { signedIn, signedOutOnPurpose } = useAuth()
  const location = useLocation()
  if (!signedIn) {
    if (signedOutOnPurpose) return <Navigate to="/signin" replace />
    const next = location.pathname + location.search
    const to = next === "/" ? "/signin" : `/signin?next=${encodeURIComponent(next)}`
    return <Navigate to={to} replace />
  }
  return <Outlet />
}

/** Sign-in and registration: a signed-in user goes where they were headed. */
export function PublicOnly() {
  const { signedIn } = useAuth()
  const [params] = useSearchParams()
  if (signedIn) return <Navigate to={safeNext(params.get("next"))} replace />
  return <Outlet />
}
