// Reading a unified diff (as `git diff` prints it) into lines to colour and number.

export type DiffLineKind =
  /** `diff --git`, `index …`, `--- a/x`, `+++ b/x`, `new file mode`, `Binary files … differ`. */
  | "file"
  /** `@@ -1,3 +1,4 @@ context` */
  | "hunk"
  | "add"
  | "del"
  | "context"
  /** `\ No newline at end of file` */
  | "note"

export interface DiffLine {
  kind: DiffLineKind
  text: string
  /** The line's number in the old file (removed and unchanged lines). */
  oldLine?: number
  /** The line's number in the new file (added and unchanged lines). */
  newLine?: number
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/

/**
 * Classifies each line of a unified diff. A line is read by where it stands, not only by its
 * first character: inside a file's header `--- a/x` is a header, inside a hunk `---x` is a
 * removed line `--x`.
 */
export function parseDiff(diff: string): DiffLine[] {
  if (diff === "") return []
  const raw = diff.split("\n")
  // The diff ends with a newline: the split leaves one empty piece that is no line.
  if (raw.at(-1) === "") raw.pop()
  const lines: DiffLine[] = []
  let inHunk = false
  let oldLine = 0
  let newLine = 0
  for (const text of raw) {
    if (text.startsWith("@@")) {
      inHunk = true
      const m = HUNK.exec(text)
      // A combined diff's `@@@ … @@@` has more than two ranges: no numbers for it.
      oldLine = m ? Number(m[1]) : 0
      newLine = m ? Number(m[2]) : 0
      lines.push({ kind: "hunk", text })
      continue
    }
    if (!inHunk || text.startsWith("diff ")) {
      inHunk = false
      lines.push({ kind: "file", text })
      continue
    }
    switch (text.charAt(0)) {
      case "+":
        lines.push({ kind: "add", text, ...(newLine > 0 ? { newLine: newLine++ } : {}) })
        break
      case "-":
        lines.push({ kind: "del", text, ...(oldLine > 0 ? { oldLine: oldLine++ } : {}) })
        break
      case "\\":
        lines.push({ kind: "note", text })
        break
      case " ":
      case "":
        // An empty line in a hunk is an unchanged empty line whose leading space was lost.
        lines.push({
          kind: "context",
          text,
          ...(oldLine > 0 ? { oldLine: oldLine++ } : {}),
          ...(newLine > 0 ? { newLine: newLine++ } : {}),
        })
        break
      default:
        inHunk = false
        lines.push({ kind: "file", text })
    }
  }
  return lines
}

/** How many lines a diff adds and removes. */
export function diffStats(lines: DiffLine[]): { added: number; removed: number } {
  let added = 0
  let removed = 0
  for (const line of lines) {
    if (line.kind === "add") added++
    else if (line.kind === "del") removed++
  }
  return { added, removed }
}

/** The size of a text in UTF-8 bytes, as the server counts its cap. */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length
}
