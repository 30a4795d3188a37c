// Turning failed answers into errors a person can act on.

/** A failed API call: the HTTP status (0 when the server could not be reached) and the
 * server's `{error, code, details}` body. `message` is always a sentence to show. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: unknown
  /** Per-field messages from `details.fields`, for forms. */
  readonly fields: Readonly<Record<string, string>>
  /** Seconds to wait, from a 429's Retry-After. */
  readonly retryAfter: number | undefined

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: unknown; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = "ApiError"
    this.status = status
    this.code = code
    this.details = options.details
    this.fields = fieldsOf(options.details)
    this.retryAfter = options.retryAfter
  }

  /** The server could not be reached at all. */
  get isNetwork(): boolean {
    return this.status === 0
  }
}

/** Raised when the sign-in is gone (no tokens, or the refresh token was refused). */
export class AuthLostError extends ApiError {
  constructor(message = "Your sign-in has ended. Sign in again to continue.", cause?: unknown) {
    super(401, "auth_lost", message, { cause })
    this.name = "AuthLostError"
  }
}

function fieldsOf(details: unknown): Record<string, string> {
  if (!isRecord(details) || !isRecord(details.fields)) return {}
  const out: Record<string, string> = {}
  for (const [field, message] of Object.entries(details.fields)) {
    if (typeof message === "string") out[field] = sentence(message)
  }
  return out
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

/** The server writes sentences in lower case ("email or password is wrong"); show them
 * starting with a capital. */
export function sentence(text: string): string {
  const trimmed = text.trim()
  // A sentence that starts with a field's name (`repositoryUrl …`) keeps it as it is.
  if (/^[a-z]+[A-Z]/.test(trimmed)) return trimmed
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1)
}

/** Seconds from a Retry-After header: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const at = Date.parse(trimmed)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, Math.ceil((at - now) / 1000))
}

/** What to say for a status when the answer carries no usable sentence. */
export function fallbackMessage(status: number, retryAfter?: number): string {
  switch (status) {
    case 0:
      return "Cannot reach the Craftastic server. Check that it is running and that you are online, then try again."
    case 400:
    case 422:
      return "Some of what was sent is not valid. Check the form and try again."
    case 401:
      return "Your sign-in has ended. Sign in again to continue."
    case 403:
      return "You are not allowed to do that."
    case 404:
      return "Not found: it may have been deleted."
    case 409:
      return "That conflicts with the current state (a name already taken, or something still in progress). Refresh and try again."
    case 413:
      return "What was sent is too large."
    case 429:
      return retryAfter === undefined
        ? "Too many attempts. Wait a moment and try again."
        : `Too many attempts. Try again in ${formatWait(retryAfter)}.`
    case 502:
      return "The container engine or an outside service failed. Try again in a moment."
    case 503:
      return "The service is unavailable right now. Try again in a moment."
    case 504:
      return "The server took too long to answer. Try again in a moment."
    default:
      return status >= 500
        ? `The server failed (HTTP ${status}). Try again; if it keeps failing, check the server's log.`
        : `The request failed (HTTP ${status}).`
  }
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? "1 second" : `${seconds} seconds`
  const minutes = Math.ceil(seconds / 60)
  return minutes === 1 ? "1 minute" : `${minutes} minutes`
}

/** Reads a failed response into an ApiError. Never throws. */
export async function errorFromResponse(response: Response, now: number = Date.now()): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"), now)
  let body: unknown = undefined
  try {
    const text = await response.text()
    body = text === "" ? undefined : (JSON.parse(text) as unknown)
  } catch {
    body = undefined
  }
  if (isRecord(body) && typeof body.error === "string" && body.error.trim() !== "") {
    let message = sentence(body.error)
    if (response.status === 429 && retryAfter !== undefined && !/\d/.test(message)) {
      message = `${message} (try again in ${formatWait(retryAfter)})`
    }
    const code = typeof body.code === "string" ? body.code : `http_${response.status}`
    return new ApiError(response.status, code, message, { details: body.details, retryAfter })
  }
  return new ApiError(response.status, `http_${response.status}`, fallbackMessage(response.status, retryAfter), {
    retryAfter,
  })
}

/** The sentence to show for any error thrown by a call. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error && error.message !== "") return sentence(error.message)
  return "Something went wrong. Try again."
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404
}

/** 503: a feature this server is not configured for (GitHub, Coolify); the message says so. */
export function isUnavailable(error: unknown): error is ApiError {
  return error instanceof ApiError && error.status === 503
}
