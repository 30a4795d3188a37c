// The one way the app talks to the server: JSON in and out, the access token attached and
// refreshed before it expires, and a 401 answered by one refresh and one retry.

import { ApiError, AuthLostError, errorFromResponse, fallbackMessage } from "@/lib/api/errors"
import type { SignedIn, Tokens } from "@/lib/api/types"
import {
  TOKENS_KEY,
  clearTokens,
  isExpired,
  needsRefresh,
  readTokens,
  tokensFromResponse,
  writeTokens,
  type StoredTokens,
} from "@/lib/auth/tokens"

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE"
  body?: unknown
  /** Send the access token (default). Sign-in, registration and refresh do not. */
  auth?: boolean
  signal?: AbortSignal
}

/** A raw answer, for the few routes whose status matters (e.g. 200 vs 204). */
export interface RawAnswer<T> {
  status: number
  data: T | undefined
}

type Listener = (tokens: StoredTokens | null) => void

export interface ApiClientOptions {
  baseUrl?: string
  fetch?: typeof fetch
  storage?: Storage
  /** The Web Locks API, to let one tab at a time refresh; null to go without. */
  locks?: LockManager | null
  now?: () => number
  /** How long a refresh may take before it is given up (ms). */
  refreshTimeoutMs?: number
}

const REFRESH_LOCK = "craftastic.auth.refresh"
/** 401 codes that are about the request itself, not the access token: no refresh. */
const NOT_TOKEN_FAILURES = new Set(["invalid_credentials"])

export class ApiClient {
  private readonly baseUrl: string
  private readonly fetchImpl: typeof fetch
  private readonly storage: Storage | undefined
  private readonly locks: LockManager | null
  private readonly now: () => number
  private readonly refreshTimeoutMs: number
  private inflight: Promise<StoredTokens> | null = null
  private readonly listeners = new Set<Listener>()
  private authLostListeners = new Set<() => void>()

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? ""
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.storage = options.storage ?? (typeof window === "undefined" ? undefined : window.localStorage)
    this.locks =
      options.locks !== undefined
        ? options.locks
        : typeof navigator !== "undefined" && "locks" in navigator
          ? navigator.locks
          : null
    this.now = options.now ?? Date.now
    this.refreshTimeoutMs = options.refreshTimeoutMs ?? 15_000
  }

  // ---- tokens ------------------------------------------------------------------------

  getTokens(): StoredTokens | null {
    return readTokens(this.storage)
  }

  setTokens(tokens: Tokens): StoredTokens {
    const stored = tokensFromResponse(tokens, this.now())
    writeTokens(stored, this.storage)
    this.emit(stored)
    return stored
  }

  clearTokens(): void {
    clearTokens(this.storage)
    this.emit(null)
  }

  /** Called with the tokens whenever they change, here or (through `storageChanged`) in
   * another tab. Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Called once the sign-in is gone for good (refresh refused). */
  onAuthLost(listener: () => void): () => void {
    this.authLostListeners.add(listener)
    return () => this.authLostListeners.delete(listener)
  }

  /** Feed `storage` events here so that other tabs' sign-ins, refreshes and sign-outs are seen. */
  storageChanged(event: StorageEvent): void {
    if (event.key !== TOKENS_KEY && event.key !== null) return
    this.emit(this.getTokens())
  }

  private emit(tokens: StoredTokens | null): void {
    for (const listener of this.listeners) listener(tokens)
  }

  private authLost(): void {
    clearTokens(this.storage)
    this.emit(null)
    for (const listener of this.authLostListeners) listener()
  }

  // ---- refresh -----------------------------------------------------------------------

  /**
   * Gets a new access token in place of `stale`. One refresh at a time: concurrent callers
   * in this tab share one request, and other tabs wait on a Web Lock and then find the
   * tokens already rotated (the server revokes a whole sign-in when a used refresh token
   * comes back, so two tabs must never both present the same one).
   */
  refresh(stale?: string): Promise<StoredTokens> {
    this.inflight ??= this.withLock(() => this.refreshLocked(stale)).finally(() => {
      this.inflight = null
    })
    return this.inflight
  }

  private async withLock<T>(task: () => Promise<T>): Promise<T> {
    if (!this.locks) return task()
    return this.locks.request(REFRESH_LOCK, task) as Promise<T>
  }

  private async refreshLocked(stale: string | undefined): Promise<StoredTokens> {
    const current = this.getTokens()
    if (!current) {
      this.authLost()
      throw new AuthLostError()
    }
    // Someone else (another tab, or an earlier refresh) has already rotated the tokens.
    if (stale !== undefined && current.accessToken !== stale && !needsRefresh(current, this.now())) {
      return current
    }
    const controller = new AbortController()
    const timer = setTimeout(() => {
      controller.abort()
    }, this.refreshTimeoutMs)
    let response: Response
    try {
      response = await this.fetchImpl(`${this.baseUrl}/api/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refreshToken: current.refreshToken }),
        signal: controller.signal,
      })
    } catch (cause) {
      throw new ApiError(0, "network", fallbackMessage(0), { cause })
    } finally {
      clearTimeout(timer)
    }
    if (response.status === 401 || response.status === 403) {
      const error = await errorFromResponse(response, this.now())
      // Without Web Locks another tab may have rotated the token meanwhile: use its result.
      const now = this.getTokens()
      if (now && now.refreshToken !== current.refreshToken) return now
      this.authLost()
      throw new AuthLostError(error.message, error)
    }
    if (!response.ok) throw await errorFromResponse(response, this.now())
    const tokens = (await response.json()) as Tokens
    return this.setTokens(tokens)
  }

  /** A usable access token, refreshed first when due. */
  private async accessToken(): Promise<string> {
    const tokens = this.getTokens()
    if (!tokens) {
      this.authLost()
      throw new AuthLostError()
    }
    if (!needsRefresh(tokens, this.now())) return tokens.accessToken
    try {
      return (await this.refresh(tokens.accessToken)).accessToken
    } catch (error) {
      // A refresh that failed only for the network: the old token may still serve.
      if (!(error instanceof AuthLostError) && !isExpired(tokens, this.now())) return tokens.accessToken
      throw error
    }
  }

  // ---- requests ----------------------------------------------------------------------

  /** Sends a request and returns its JSON body (undefined for 204). Throws ApiError. */
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const { data } = await this.requestRaw<T>(path, options)
    return data as T
  }

  async requestRaw<T>(path: string, options: RequestOptions = {}): Promise<RawAnswer<T>> {
    const response = await this.answered(path, options)
    if (response.status === 204) return { status: 204, data: undefined }
    const text = await response.text()
    if (text === "") return { status: response.status, data: undefined }
    try {
      return { status: response.status, data: JSON.parse(text) as T }
    } catch (cause) {
      throw new ApiError(response.status, "invalid_response", "The server sent an answer that is not JSON.", {
        cause,
      })
    }
  }

  /** Sends a request and returns its body as text, for the routes that do not answer JSON
   * (a session's recording). Throws ApiError. */
  async requestText(path: string, options: RequestOptions = {}): Promise<string> {
    return (await this.answered(path, options)).text()
  }

  /** The successful answer to a request, the token refreshed and the request sent again
   * once on a 401. Throws ApiError for any other answer. */
  private async answered(path: string, options: RequestOptions): Promise<Response> {
    const auth = options.auth ?? true
    let token = auth ? await this.accessToken() : undefined
    let response = await this.send(path, options, token)
    if (auth && response.status === 401) {
      const error = await errorFromResponse(response.clone(), this.now())
      if (!NOT_TOKEN_FAILURES.has(error.code)) {
        token = (await this.refresh(token)).accessToken
        response = await this.send(path, options, token)
      }
    }
    if (!response.ok) throw await errorFromResponse(response, this.now())
    return response
  }

  /**
   * Opens a streamed answer (`text/event-stream`) with the access token, refreshed first when
   * due and once more on a 401, and returns the response as it is: its status is the
   * caller's to read. Throws AuthLostError when the sign-in is gone, ApiError(0) offline.
   */
  async openStream(path: string, signal: AbortSignal): Promise<Response> {
    let token = await this.accessToken()
    let response = await this.send(path, { signal }, token, "text/event-stream")
    if (response.status === 401) {
      await response.body?.cancel()
      token = (await this.refresh(token)).accessToken
      response = await this.send(path, { signal }, token, "text/event-stream")
    }
    return response
  }

  private async send(
    path: string,
    options: RequestOptions,
    token: string | undefined,
    accept = "application/json",
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept }
    if (options.body !== undefined) headers["Content-Type"] = "application/json"
    if (token !== undefined) headers.Authorization = `Bearer ${token}`
    try {
      return await this.fetchImpl(`${this.baseUrl}${path}`, {
        method: options.method ?? "GET",
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      })
    } catch (cause) {
      if (options.signal?.aborted) throw cause
      throw new ApiError(0, "network", fallbackMessage(0), { cause })
    }
  }

  // ---- sign-in -----------------------------------------------------------------------

  async login(email: string, password: string): Promise<SignedIn> {
    const signedIn = await this.request<SignedIn>("/api/auth/login", {
      method: "POST",
      body: { email, password },
      auth: false,
    })
    this.setTokens(signedIn)
    return signedIn
  }

  async register(email: string, name: string, password: string): Promise<SignedIn> {
    const signedIn = await this.request<SignedIn>("/api/auth/register", {
      method: "POST",
      body: { email, name, password },
      auth: false,
    })
    this.setTokens(signedIn)
    return signedIn
  }

  /** Ends this sign-in on the server (best effort) and forgets it here. */
  async logout(): Promise<void> {
    try {
      if (this.getTokens()) {
        // A due refresh happens first, so the refresh token sent is the current one.
        const accessToken = await this.accessToken()
        const tokens = this.getTokens()
        if (tokens) {
          await this.send(
            "/api/auth/logout",
            { method: "POST", body: { refreshToken: tokens.refreshToken } },
            accessToken,
          )
        }
      }
    } catch {
      // Signing out here must work even when the server cannot be reached.
    } finally {
      this.clearTokens()
    }
  }

  /** Ends every sign-in of the account, then this one. */
  async logoutAll(): Promise<void> {
    await this.request<undefined>("/api/auth/logout-all", { method: "POST" })
    this.clearTokens()
  }
}

export const api = new ApiClient()
