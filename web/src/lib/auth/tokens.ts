// Where the sign-in lives: one localStorage entry, shared by every tab of the app.

import type { Tokens } from "@/lib/api/types"

export const TOKENS_KEY = "craftastic.auth"

export interface StoredTokens {
  accessToken: string
  refreshToken: string
  /** When the access token expires (ms since the epoch). */
  expiresAt: number
  /** When it was obtained (ms since the epoch), to refresh in proportion to its lifetime. */
  obtainedAt: number
}

/** How long before expiry a token is refreshed: a minute, or a quarter of a short lifetime. */
export const MAX_REFRESH_LEAD_MS = 60_000

export function tokensFromResponse(tokens: Tokens, now: number = Date.now()): StoredTokens {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: now + Math.max(0, tokens.expiresIn) * 1000,
    obtainedAt: now,
  }
}

function isStoredTokens(value: unknown): value is StoredTokens {
  if (typeof value !== "object" || value === null) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.accessToken === "string" &&
    v.accessToken !== "" &&
    typeof v.refreshToken === "string" &&
    v.refreshToken !== "" &&
    typeof v.expiresAt === "number" &&
    Number.isFinite(v.expiresAt) &&
    typeof v.obtainedAt === "number" &&
    Number.isFinite(v.obtainedAt)
  )
}

/** The stored sign-in, or null when there is none or it is unreadable. */
export function readTokens(storage: Storage | undefined = safeLocalStorage()): StoredTokens | null {
  if (!storage) return null
  try {
    const raw = storage.getItem(TOKENS_KEY)
    if (raw === null) return null
    const parsed = JSON.parse(raw) as unknown
    return isStoredTokens(parsed) ? parsed : null
  } catch {
    return null
  }
}

export function writeTokens(tokens: StoredTokens, storage: Storage | undefined = safeLocalStorage()): void {
  storage?.setItem(TOKENS_KEY, JSON.stringify(tokens))
}

export function clearTokens(storage: Storage | undefined = safeLocalStorage()): void {
  storage?.removeItem(TOKENS_KEY)
}

/** The moment to refresh proactively: shortly before expiry. */
export function refreshAt(tokens: StoredTokens): number {
  const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt)
  const lead = Math.min(MAX_REFRESH_LEAD_MS, lifetime / 4)
  return tokens.expiresAt - lead
}

/** True once the access token is due for a refresh (or already expired). */
export function needsRefresh(tokens: StoredTokens, now: number = Date.now()): boolean {
  return now >= refreshAt(tokens)
}

export function isExpired(tokens: StoredTokens, now: number = Date.now()): boolean {
  return now >= tokens.expiresAt
}

function safeLocalStorage(): Storage | undefined {
  try {
    return typeof window === "undefined" ? undefined : window.localStorage
  } catch {
    return undefined
  }
}
