import { describe, expect, it } from "vitest"

import {
  TOKENS_KEY,
  clearTokens,
  isExpired,
  needsRefresh,
  readTokens,
  refreshAt,
  tokensFromResponse,
  writeTokens,
} from "@/lib/auth/tokens"

const NOW = 1_700_000_000_000

describe("token storage", () => {
  it("stores tokens with their expiry and reads them back", () => {
    const tokens = tokensFromResponse({ accessToken: "a", refreshToken: "r", expiresIn: 900 }, NOW)
    expect(tokens).toEqual({ accessToken: "a", refreshToken: "r", expiresAt: NOW + 900_000, obtainedAt: NOW })
    writeTokens(tokens, localStorage)
    expect(readTokens(localStorage)).toEqual(tokens)
    clearTokens(localStorage)
    expect(readTokens(localStorage)).toBeNull()
  })

  it("treats a damaged or partial entry as no sign-in", () => {
    localStorage.setItem(TOKENS_KEY, "{not json")
    expect(readTokens(localStorage)).toBeNull()
    localStorage.setItem(TOKENS_KEY, JSON.stringify({ accessToken: "a", refreshToken: "", expiresAt: 1, obtainedAt: 0 }))
    expect(readTokens(localStorage)).toBeNull()
  })
})

describe("refresh timing", () => {
  it("refreshes a 15-minute token one minute before it expires", () => {
    const tokens = tokensFromResponse({ accessToken: "a", refreshToken: "r", expiresIn: 900 }, NOW)
    expect(refreshAt(tokens)).toBe(NOW + 840_000)
    expect(needsRefresh(tokens, NOW + 839_999)).toBe(false)
    expect(needsRefresh(tokens, NOW + 840_000)).toBe(true)
    expect(isExpired(tokens, NOW + 899_999)).toBe(false)
    expect(isExpired(tokens, NOW + 900_000)).toBe(true)
  })

  it("refreshes a short-lived token at three quarters of its life", () => {
    const tokens = tokensFromResponse({ accessToken: "a", refreshToken: "r", expiresIn: 60 }, NOW)
    expect(refreshAt(tokens)).toBe(NOW + 45_000)
  })
})
