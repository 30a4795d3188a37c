import { describe, expect, it } from "vitest"

import { byteLength, diffStats, parseDiff } from "@/features/git/diff"

const MODIFIED = `diff --git a/src/app.ts b/src/app.ts
index 3b18e51..a1b2c3d 100644
--- a/src/app.ts
+++ b/src/app.ts
@@ -1,4 +1,5 @@ export function main() {
 import x from "x"
-const a = 1
+const a = 2
+const b = 3
 
 main()
\\ No newline at end of file
`

describe("parseDiff", () => {
  it("tells headers, hunks, added, removed and unchanged lines apart", () => {
    const lines = parseDiff(MODIFIED)
    expect(lines.map((l) => l.kind)).toEqual([
      "file",
      "file",
      "file",
      "file",
      "hunk",
      "context",
      "del",
      "add",
      "add",
      "context",
      "context",
      "note",
    ])
    expect(lines.at(-1)?.text).toBe("\\ No newline at end of file")
  })

  it("numbers lines from the hunk header, old and new apart", () => {
    const lines = parseDiff(MODIFIED)
    const numbers = lines.filter((l) => l.kind !== "file" && l.kind !== "hunk").map((l) => [l.oldLine, l.newLine])
    expect(numbers).toEqual([
      [1, 1],
      [2, undefined],
      [undefined, 2],
      [undefined, 3],
      [3, 4],
      [4, 5],
      [undefined, undefined],
    ])
  })

  it("reads lines that look like headers inside a hunk as content", () => {
    const diff = [
      "diff --git a/notes.md b/notes.md",
      "--- a/notes.md",
      "+++ b/notes.md",
      "@@ -1,2 +1,2 @@",
      "--- a list item that starts with two dashes",
      "+++ a line that starts with two pluses",
      " diff --git is just text here",
      "",
    ].join("\n")
    expect(parseDiff(diff).map((l) => l.kind)).toEqual(["file", "file", "file", "hunk", "del", "add", "context"])
  })

  it("starts a new file's header after a hunk", () => {
    const diff = [
      "diff --git a/a b/a",
      "@@ -1 +1 @@",
      "-x",
      "+y",
      "diff --git a/b b/b",
      "new file mode 100644",
      "--- /dev/null",
      "+++ b/b",
      "@@ -0,0 +1 @@",
      "+hi",
    ].join("\n")
    const lines = parseDiff(diff)
    expect(lines.map((l) => l.kind)).toEqual(["file", "hunk", "del", "add", "file", "file", "file", "file", "hunk", "add"])
    expect(lines.at(-1)).toEqual({ kind: "add", text: "+hi", newLine: 1 })
  })

  it("shows a binary file's header and no hunks", () => {
    const diff = "diff --git a/logo.png b/logo.png\nindex 1..2 100644\nBinary files a/logo.png and b/logo.png differ\n"
    expect(parseDiff(diff).map((l) => l.kind)).toEqual(["file", "file", "file"])
  })

  it("reads an empty diff as no lines, and a cut diff up to its last line", () => {
    expect(parseDiff("")).toEqual([])
    const cut = "diff --git a/x b/x\n@@ -1,3 +1,3 @@\n-a\n+b\n"
    expect(parseDiff(cut)).toHaveLength(4)
  })
})

describe("diffStats and byteLength", () => {
  it("counts added and removed lines, not headers", () => {
    expect(diffStats(parseDiff(MODIFIED))).toEqual({ added: 2, removed: 1 })
  })

  it("counts UTF-8 bytes", () => {
    expect(byteLength("abc")).toBe(3)
    expect(byteLength("ü€")).toBe(5)
  })
})
