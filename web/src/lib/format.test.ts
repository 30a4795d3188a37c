import { describe, expect, it } from "vitest"

import { shortRepository } from "@/lib/format"

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
