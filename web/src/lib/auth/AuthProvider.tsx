import { useQuery, useQueryClient } from "@tanstack/react-query"
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react"
import { toast } from "sonner"

import { api } from "@/lib/api/client"
import { apiCalls } from "@/lib/api/endpoints"
import { AuthContext, type AuthContextValue } from "@/lib/auth/auth"
import { refreshAt, type StoredTokens } from "@/lib/auth/tokens"
import { queryKeys } from "@/lib/queries"

/** Holds the sign-in: follows token changes (also from other tabs), refreshes the access
 * token shortly before it expires, and loads the signed-in user. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient()
  const [tokens, setTokens] = useState<StoredTokens | null>(() => api.getTokens())
  const signedIn = tokens !== null
  const signingOut = useRef(false)
  const [signedOutOnPurpose, setSignedOutOnPurpose] = useState(false)

  useEffect(() => {
    const unsubscribe = api.subscribe(setTokens)
    const onStorage = (event: StorageEvent) => {
      api.storageChanged(event)
    }
    window.addEventListener("storage", onStorage)
    return () => {
      unsubscribe()
      window.removeEventListener("storage", onStorage)
    }
  }, [])

  useEffect(
    () =>
      api.onAuthLost(() => {
        queryClient.clear()
        if (!signingOut.current) toast.error("Your sign-in has ended. Sign in again to continue.", { id: "auth-lost" })
      }),
    [queryClient],
  )

  // Someone signed out in another tab: forget this tab's data too.
  useEffect(() => {
    if (!signedIn) queryClient.clear()
  }, [signedIn, queryClient])

  // Refresh shortly before expiry; a hidden tab's timers may be late, so also check when it
  // comes back (requests check too, so a late timer never sends an expired token).
  useEffect(() => {
    if (!tokens) return
    const refresh = () => {
      api.refresh(tokens.accessToken).catch(() => {
        // Requests will try again; a refused refresh has already signed out.
      })
    }
    const timer = setTimeout(refresh, Math.max(0, refreshAt(tokens) - Date.now()))
    const onVisible = () => {
      if (document.visibilityState === "visible" && Date.now() >= refreshAt(tokens)) refresh()
    }
    document.addEventListener("visibilitychange", onVisible)
    return () => {
      clearTimeout(timer)
      document.removeEventListener("visibilitychange", onVisible)
    }
  }, [tokens])

  const me = useQuery({
    queryKey: queryKeys.me,
    queryFn: ({ signal }) => apiCalls.me(signal),
    enabled: signedIn,
    staleTime: 60_000,
  })

  const signIn = useCallback(
    async (email: string, password: string) => {
      const result = await api.login(email, password)
      setSignedOutOnPurpose(false)
      queryClient.setQueryData(queryKeys.me, result.user)
    },
    [queryClient],
  )

  const register = useCallback(
    async (email: string, name: string, password: string) => {
      const result = await api.register(email, name, password)
      setSignedOutOnPurpose(false)
      queryClient.setQueryData(queryKeys.me, result.user)
    },
    [queryClient],
  )

  const signOut = useCallback(async () => {
    signingOut.current = true
    setSignedOutOnPurpose(true)
    try {
      await api.logout()
    } finally {
      queryClient.clear()
      signingOut.current = false
    }
  }, [queryClient])

  const signOutEverywhere = useCallback(async () => {
    signingOut.current = true
    setSignedOutOnPurpose(true)
    try {
      await api.logoutAll()
    } catch (error) {
      setSignedOutOnPurpose(false)
      throw error
    } finally {
      signingOut.current = false
    }
    queryClient.clear()
  }, [queryClient])

  const value = useMemo<AuthContextValue>(
    () => ({
      signedIn,
      signedOutOnPurpose,
      user: signedIn ? me.data : undefined,
      signIn,
      register,
      signOut,
      signOutEverywhere,
    }),
    [signedIn, signedOutOnPurpose, me.data, signIn, register, signOut, signOutEverywhere],
  )
  return <AuthContext value={value}>{children}</AuthContext>
}
