import { describe, expect, it } from "vitest"

import { ApiError } from "@/lib/api/errors"
import {
  describePolicy,
  egressFieldErrors,
  hostLines,
  hostProblem,
  hostsProblem,
  policyOf,
} from "@/features/environments/egress"

describe("egress", () => {
  it("reads one host per line, commas and spaces separating too", () => {
    expect(hostLines("github.com\n\n  *.npmjs.org  \r\napi.anthropic.com, pypi.org files.pythonhosted.org\n")).toEqual([
      "github.com",
      "*.npmjs.org",
      "api.anthropic.com",
      "pypi.org",
      "files.pythonhosted.org",
    ])
    expect(hostLines("  \n ")).toEqual([])
  })

  it("accepts what the server accepts", () => {
    for (const host of [
      "github.com",
      "GitHub.COM.",
      "*.githubusercontent.com",
      "registry.npmjs.org",
      "xn--bcher-kva.example",
      "1password.com",
    ]) {
      expect(hostProblem(host), host).toBeNull()
    }
  })

  it("says what to write instead of what the server refuses", () => {
    for (const [host, says] of [
      ["https://github.com/ada", "write github.com"],
      ["http://[::1]:8080", "write [::1]"],
      ["github.com/ada", "Has a path: write github.com"],
      ["github.com:443", "Has a port: write github.com"],
      ["ada@github.com", "Has a user name: write github.com"],
      ["10.0.0.1", "IP address"],
      ["::1", "IP address"],
      ["[2001:db8::1]", "IP address"],
      ["localhost", "at least two labels"],
      ["*.com", "whole top-level domain"],
      ["*", "choose Open"],
      ["a.*.com", "'*' may only stand first"],
      ["a..b.com", "empty label"],
      ["-a.example.com", "no label starts or ends with '-'"],
      ["a_b.example.com", "Only letters, digits"],
      ["bücher.de", "punycode"],
      ["1.2.3", "last label is a number"],
      [`${"a".repeat(64)}.com`, "longer than 63"],
    ] as const) {
      expect(hostProblem(host), host).toContain(says)
    }
  })

  it("names the first bad line and refuses an empty allowlist", () => {
    expect(hostsProblem("allowlist", ["github.com", "https://pypi.org"])).toBe(
      "Line 2 (https://pypi.org): Not a host name: write pypi.org.",
    )
    expect(hostsProblem("allowlist", [])).toContain("at least one host")
    expect(hostsProblem("allowlist", ["github.com"])).toBeNull()
    expect(hostsProblem("none", ["https://nonsense"])).toBeNull()
    const many = Array.from({ length: 101 }, (_, i) => `h${i}.example.com`)
    expect(hostsProblem("allowlist", many)).toContain("At most 100 hosts")
    expect(hostsProblem("allowlist", [...many.slice(0, 100), "H0.example.com."])).toBeNull()
  })

  it("sends hosts only with an allowlist, and says what a policy allows", () => {
    expect(policyOf("allowlist", "github.com\n*.npmjs.org")).toEqual({
      mode: "allowlist",
      hosts: ["github.com", "*.npmjs.org"],
    })
    expect(policyOf("none", "github.com")).toEqual({ mode: "none", hosts: [] })
    expect(describePolicy({ mode: "open", hosts: [] })).toBe("Internet: open")
    expect(describePolicy({ mode: "none", hosts: [] })).toBe("Internet: none")
    expect(describePolicy({ mode: "allowlist", hosts: ["github.com"] })).toBe("Internet: github.com only")
    expect(describePolicy({ mode: "allowlist", hosts: ["a.com", "b.com"] })).toBe("Internet: 2 hosts")
  })

  it("picks the policy's field messages out of a 422", () => {
    const error = new ApiError(422, "invalid_input", "x", {
      details: {
        fields: {
          "egressPolicy.hosts": "egressPolicy.hosts[2]: 'https://github.com' is not a host name; write github.com",
          name: "name is required",
        },
      },
    })
    expect(egressFieldErrors(error)).toEqual({
      hosts: "egressPolicy.hosts[2]: 'https://github.com' is not a host name; write github.com",
    })
    expect(egressFieldErrors(new Error("no"))).toEqual({})
  })
})
