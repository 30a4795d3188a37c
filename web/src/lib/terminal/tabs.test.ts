import { describe, expect, it } from "vitest"

import { readOpenTabs, withTab, withoutTab, writeOpenTabs } from "@/lib/terminal/tabs"

describe("terminal tabs", () => {
  it("adds a tab once, at the end", () => {
    expect(withTab(["a", "b"], "c")).toEqual(["a", "b", "c"])
    expect(withTab(["a", "b"], "a")).toEqual(["a", "b"])
  })

  it("shows the right neighbour of a closed tab, else the left one", () => {
    expect(withoutTab(["a", "b", "c"], "b")).toEqual({ tabs: ["a", "c"], next: "c" })
    expect(withoutTab(["a", "b", "c"], "c")).toEqual({ tabs: ["a", "b"], next: "b" })
    expect(withoutTab(["a"], "a")).toEqual({ tabs: [], next: null })
    expect(withoutTab(["a"], "z")).toEqual({ tabs: ["a"], next: null })
  })

  it("keeps the open tabs of each environment across reloads", () => {
    writeOpenTabs("env1", ["a", "b"], sessionStorage)
    writeOpenTabs("env2", ["c"], sessionStorage)
    expect(readOpenTabs("env1", sessionStorage)).toEqual(["a", "b"])
    expect(readOpenTabs("env2", sessionStorage)).toEqual(["c"])
    sessionStorage.setItem("craftastic.terminal-tabs.env3", '{"bad":1}')
    expect(readOpenTabs("env3", sessionStorage)).toEqual([])
  })
})
