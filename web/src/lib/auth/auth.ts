import { createContext, useContext } from "react"

import type { User } from "@/lib/api/types"

export interface AuthContextValue {
  /** Tokens are stored (the user may still have to be loaded). */
  signedIn: boolean
  /** The user signed out on purpose (rather than the sign-in running out). */
  signedOutOnPurpose: boolean
  user: User | undefined
  signIn: (email: string, password: string) => Promise<void>
  register: (email: string, name: string, password: string) => Promise<void>
  signOut: () => Promise<void>
  signOutEverywhere: () => Promise<void>
}

export const AuthContext = createContext<AuthContextValue | null>(null)

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext)
  if (!value) throw new Error("useAuth must be used inside <AuthProvider>")
  return value
}

/** The server's minimum password length. */
export const MIN_PASSWORD_LENGTH = 10

/** Only paths of this app: never an absolute URL (an open redirect). */
export function safeNext(next: string | null): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/"
  return next
}
