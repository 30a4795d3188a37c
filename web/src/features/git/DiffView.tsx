import { Binary, Scissors } from "lucide-react"
import { useMemo } from "react"

import type { GitDiff } from "@/lib/api/types"
import { cn } from "@/lib/utils"
import { byteLength, parseDiff, type DiffLineKind } from "@/features/git/diff"

const LINE: Record<DiffLineKind, string> = {
  file: "text-muted-foreground font-semibold",
  hunk: "bg-info/10 text-info",
  add: "bg-success/15 text-foreground",
  del: "bg-destructive/15 text-foreground",
  context: "text-foreground",
  note: "text-muted-foreground italic",
}

const GUTTER: Partial<Record<DiffLineKind, string>> = {
  add: "bg-success/20",
  del: "bg-destructive/20",
  hunk: "bg-info/10",
}

/** A unified diff, coloured line by line, in a box that scrolls both ways. */
export function DiffView({ diff, className }: { diff: GitDiff; className?: string }) {
  const lines = useMemo(() => parseDiff(diff.diff), [diff.diff])
  return (
    <div className={cn("space-y-2", className)}>
      {diff.truncated && (
        <p
          role="note"
          data-testid="git-diff-truncated"
          className="border-warning/30 bg-warning/10 text-foreground flex items-start gap-2 rounded-md border px-3 py-2 text-sm"
        >
          <Scissors className="text-warning mt-0.5 size-4 shrink-0" aria-hidden />
          <span>
            This diff is too large: it was cut at {byteLength(diff.diff).toLocaleString("en-US")} bytes. Look at the
            rest in the terminal (<span className="font-mono">git diff</span>).
          </span>
        </p>
      )}
      {diff.binary && (
        <p
          role="note"
          data-testid="git-diff-binary"
          className="bg-muted text-muted-foreground flex items-center gap-2 rounded-md border px-3 py-2 text-sm"
        >
          <Binary className="size-4 shrink-0" aria-hidden />
          Binary file: git shows no text diff for it.
        </p>
      )}
      {lines.length > 0 && (
        <div
          className="bg-background max-h-[60vh] overflow-auto rounded-md border font-mono text-xs leading-5"
          data-testid="git-diff-lines"
        >
          {/* As wide as the widest line, so that every line's colour spans the scroll width. */}
          <div className="w-max min-w-full py-1">
            {lines.map((line, i) => (
              <div key={i} data-kind={line.kind} className={cn("flex", LINE[line.kind])}>
                <span
                  aria-hidden
                  className={cn(
                    "text-muted-foreground hidden w-10 shrink-0 pr-2 text-right select-none sm:block",
                    GUTTER[line.kind],
                  )}
                >
                  {line.oldLine ?? ""}
                </span>
                <span
                  aria-hidden
                  className={cn(
                    "text-muted-foreground hidden w-10 shrink-0 border-r pr-2 text-right select-none sm:block",
                    GUTTER[line.kind],
                  )}
                >
                  {line.newLine ?? ""}
                </span>
                <span className="flex-1 px-3 whitespace-pre">{line.text === "" ? " " : line.text}</span>
              </div>
            ))}
          </div>
        </div>
      )}
    </div>
  )
}
