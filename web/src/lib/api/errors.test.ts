import { describe, expect, it } from "vitest"

import { ApiError, describeError, errorFromResponse, fallbackMessage, parseRetryAfter, sentence } from "@/lib/api/errors"

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } })

describe("errorFromResponse", () => {
  it("keeps the server's sentence, code and per-field messages", async () => {
    const error = await errorFromResponse(
      json(422, {
        error: "name may contain only letters",
        code: "invalid_input",
        details: { fields: { name: "name may contain only letters", branch: "branch is required" } },
      }),
    )
    expect(error).toBeInstanceOf(ApiError)
    expect(error.status).toBe(422)
    expect(error.code).toBe("invalid_input")
    expect(error.message).toBe("Name may contain only letters")
    expect(error.fields).toEqual({ name: "Name may contain only letters", branch: "Branch is required" })
  })

  it("reads Retry-After on a 429 and says when to try again", async () => {
    const error = await errorFromResponse(
      json(429, { error: "too many failed attempts", code: "too_many_attempts" }, { "Retry-After": "120" }),
    )
    expect(error.retryAfter).toBe(120)
    expect(error.message).toBe("Too many failed attempts (try again in 2 minutes)")
  })

  it("does not repeat the wait when the sentence already gives it", async () => {
    const error = await errorFromResponse(
      json(429, { error: "too many failed attempts; try again in 30 seconds", code: "too_many_attempts" }, { "Retry-After": "30" }),
    )
    expect(error.message).toBe("Too many failed attempts; try again in 30 seconds")
  })

  it("explains answers without a JSON body by their status", async () => {
    const error = await errorFromResponse(new Response("<html>Bad Gateway</html>", { status: 502 }))
    expect(error.code).toBe("http_502")
    expect(error.message).toBe(fallbackMessage(502))
    expect(error.fields).toEqual({})
  })

  it("ignores details that are not per-field messages", async () => {
    const error = await errorFromResponse(json(409, { error: "taken", code: "name_taken", details: { fields: "x" } }))
    expect(error.fields).toEqual({})
    expect(error.message).toBe("Taken")
  })
})

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("30")).toBe(30)
    expect(parseRetryAfter(null)).toBeUndefined()
    expect(parseRetryAfter("soon")).toBeUndefined()
    const now = Date.parse("2026-01-01T00:00:00Z")
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:01:00 GMT", now)).toBe(60)
  })
})

describe("describeError", () => {
  it("gives a sentence for anything thrown", () => {
    expect(describeError(new ApiError(404, "not_found", "Session not found"))).toBe("Session not found")
    expect(describeError(new Error("boom"))).toBe("Boom")
    expect(describeError("???")).toBe("Something went wrong. Try again.")
    expect(sentence("  lower case ")).toBe("Lower case")
    expect(sentence("repositoryUrl scheme ftp:// is not supported")).toBe("repositoryUrl scheme ftp:// is not supported")
  })

  it("says what to do for each status that has no sentence", () => {
    expect(fallbackMessage(0)).toMatch(/Cannot reach/)
    expect(fallbackMessage(401)).toMatch(/Sign in again/)
    expect(fallbackMessage(404)).toMatch(/Not found/)
    expect(fallbackMessage(409)).toMatch(/conflicts/)
    expect(fallbackMessage(429, 5)).toBe("Too many attempts. Try again in 5 seconds.")
    expect(fallbackMessage(502)).toMatch(/container engine/)
  })
})
