import { describe, expect, it } from "vitest"

import { diskUse, formatBytes, shortRepository } from "@/lib/format"

describe("shortRepository", () => {
  it("names a repository by its path on the host", () => {
    expect(shortRepository("https://github.com/ada/app.git")).toBe("ada/app")
    expect(shortRepository("http://172.17.0.1:38373/shop.git")).toBe("shop")
    expect(shortRepository("ssh://git@example.com:2222/team/app.git")).toBe("team/app")
    expect(shortRepository("git@github.com:ada/app.git")).toBe("ada/app")
    expect(shortRepository("https://gitlab.com/group/sub/app/")).toBe("group/sub/app")
    expect(shortRepository("/srv/repos/shop")).toBe("/srv/repos/shop")
  })
})

describe("formatBytes", () => {
  it("speaks binary units with one decimal when it says something", () => {
    expect(formatBytes(512)).toBe("512 B")
    expect(formatBytes(1536)).toBe("1.5 KiB")
    expect(formatBytes(50 * 2 ** 20)).toBe("50 MiB")
    expect(formatBytes(10.3 * 2 ** 30)).toBe("10.3 GiB")
  })
})

describe("diskUse", () => {
  it("shows the use against the cap, the use alone without one, nothing before a measurement", () => {
    expect(diskUse({ diskBytes: 1.2 * 2 ** 30, diskLimitBytes: 10 * 2 ** 30 })).toBe("1.2 GiB of 10 GiB")
    expect(diskUse({ diskBytes: 4096 })).toBe("4 KiB")
    expect(diskUse({})).toBeNull()
  })
})
