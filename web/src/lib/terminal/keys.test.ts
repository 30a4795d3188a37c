import { describe, expect, it } from "vitest"

import { shortcutFor, shortcutLabel, type KeyLike } from "@/lib/terminal/keys"

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({
  type: "keydown",
  key: k,
  ctrlKey: false,
  shiftKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
})

describe("terminal shortcuts", () => {
  it("takes Ctrl+Shift+C/V/F and leaves Ctrl+C to the shell", () => {
    expect(shortcutFor(key("C", { ctrlKey: true, shiftKey: true }), false)).toBe("copy")
    expect(shortcutFor(key("V", { ctrlKey: true, shiftKey: true }), false)).toBe("paste")
    expect(shortcutFor(key("F", { ctrlKey: true, shiftKey: true }), false)).toBe("search")
    expect(shortcutFor(key("c", { ctrlKey: true }), false)).toBeNull()
    expect(shortcutFor(key("v", { ctrlKey: true }), false)).toBeNull()
    expect(shortcutFor(key("C", { ctrlKey: true, shiftKey: true, type: "keyup" }), false)).toBeNull()
  })

  it("takes Cmd+C/V/F on a Mac only", () => {
    expect(shortcutFor(key("c", { metaKey: true }), true)).toBe("copy")
    expect(shortcutFor(key("v", { metaKey: true }), true)).toBe("paste")
    expect(shortcutFor(key("f", { metaKey: true }), true)).toBe("search")
    expect(shortcutFor(key("c", { metaKey: true }), false)).toBeNull()
    expect(shortcutFor(key("c", { ctrlKey: true }), true)).toBeNull()
    expect(shortcutFor(key("f", { metaKey: true, altKey: true }), true)).toBeNull()
  })

  it("names the keys for the platform", () => {
    expect(shortcutLabel("search", true)).toBe("⌘F")
    expect(shortcutLabel("copy", false)).toBe("Ctrl+Shift+C")
  })
})
