import { describe, expect, it } from "vitest"

import { ApiError } from "@/lib/api/errors"
import {
  MAX_CREDENTIAL_BYTES,
  agentFieldErrors,
  agentNameProblem,
  credentialProblem,
  credentialSummary,
} from "@/features/agents/credential"
import { AGENT_KINDS, agentLabel } from "@/features/agents/agentTypes"

describe("credentialProblem", () => {
  it("takes an API key as one token", () => {
    expect(credentialProblem("api-key", "  sk-ant-123  ")).toBeNull()
    expect(credentialProblem("api-key", "   ")).toBe("Paste the API key.")
    expect(credentialProblem("api-key", "sk ant")).toMatch(/one token/)
    expect(credentialProblem("api-key", "sk-1\nsk-2")).toMatch(/line breaks/)
    expect(credentialProblem("api-key", "sk-1", "codex")).toBeNull()
  })

  it("wants a JSON object for OAuth, and says why anything else is not one", () => {
    expect(credentialProblem("oauth", '{"claudeAiOauth": {"accessToken": "x"}}')).toBeNull()
    expect(credentialProblem("oauth", "")).toMatch(/credentials file/)
    expect(credentialProblem("oauth", "{not json")).toMatch(/^This is not valid JSON/)
    for (const notAnObject of ["[1, 2]", '"token"', "null", "42"]) {
      expect(credentialProblem("oauth", notAnObject)).toMatch(/JSON object/)
    }
  })

  it("refuses more than 32 KiB, counted in bytes", () => {
    expect(credentialProblem("api-key", "a".repeat(MAX_CREDENTIAL_BYTES))).toBeNull()
    expect(credentialProblem("api-key", "é".repeat(MAX_CREDENTIAL_BYTES / 2 + 1))).toMatch(/32 KiB/)
  })
})

describe("agentNameProblem", () => {
  it("follows the server's rules for names", () => {
    for (const ok of ["claude", "claude.1", "A_b-c", "x".repeat(64)]) expect(agentNameProblem(ok)).toBeNull()
    expect(agentNameProblem("  ")).toMatch(/name/)
    expect(agentNameProblem("x".repeat(65))).toMatch(/64/)
    for (const bad of ["-x", "a b", "a/b", "ü"]) expect(agentNameProblem(bad)).toMatch(/Letters, digits/)
  })
})

describe("an OpenCode API key", () => {
  it("names its provider before the key, as the server asks", () => {
    expect(credentialProblem("api-key", "anthropic:sk-ant-1", "opencode")).toBeNull()
    expect(credentialProblem("api-key", " openai:sk-1 ", "opencode")).toBeNull()
    for (const bad of ["sk-ant-1", ":sk-1", "openai:", "OpenAI:sk-1", "-x:sk"]) {
      expect(credentialProblem("api-key", bad, "opencode")).toMatch(/provider:key/)
    }
    expect(credentialProblem("oauth", '{"anthropic": {"type": "oauth"}}', "opencode")).toBeNull()
  })
})

describe("agentFieldErrors", () => {
  it("puts the server's credential.* messages on the credential and a taken name on the name", () => {
    const invalid = new ApiError(422, "invalid_input", "x", {
      details: {
        fields: {
          "credential.value": "an api-key credential must be one token without spaces or line breaks",
          type: "type must be one of claude-code, gemini-cli, qwen-coder, cursor-cli",
        },
      },
    })
    expect(agentFieldErrors(invalid)).toEqual({
      credential: "An api-key credential must be one token without spaces or line breaks",
      type: "Type must be one of claude-code, gemini-cli, qwen-coder, cursor-cli",
    })
    const taken = new ApiError(409, "name_taken", "You already have an agent named claude")
    expect(agentFieldErrors(taken)).toEqual({ name: "You already have an agent named claude" })
    expect(agentFieldErrors(new Error("boom"))).toEqual({})
  })
})

describe("agent types", () => {
  it("labels the server's six types, and shows an unknown one as it is", () => {
    expect(AGENT_KINDS.map((k) => k.type)).toEqual([
      "claude-code",
      "gemini-cli",
      "qwen-coder",
      "cursor-cli",
      "codex",
      "opencode",
    ])
    expect(agentLabel("gemini-cli")).toBe("Gemini CLI")
    expect(agentLabel("codex")).toBe("Codex")
    expect(agentLabel("opencode")).toBe("OpenCode")
    expect(agentLabel("aider")).toBe("aider")
  })

  it("says whether a credential is set and of which kind, never more", () => {
    expect(credentialSummary({ hasCredential: false })).toBe("Not set")
    expect(credentialSummary({ hasCredential: true, credentialType: "api-key" })).toBe("API key set")
    expect(credentialSummary({ hasCredential: true, credentialType: "oauth" })).toBe("OAuth set")
  })
})
