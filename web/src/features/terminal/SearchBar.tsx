import type { SearchAddon } from "@xterm/addon-search"
import { CaseSensitive, ChevronDown, ChevronUp, X } from "lucide-react"
import { useEffect, useRef, useState } from "react"

import { Button } from "@/components/ui/button"
import { Input } from "@/components/ui/input"
import { searchDecorations } from "@/lib/terminal/themes"
import { cn } from "@/lib/utils"

interface Props {
  search: SearchAddon
  mode: "light" | "dark"
  onClose: () => void
}

/** Find in the scrollback: Enter for the next match, Shift+Enter for the previous one,
 * Escape to close. */
export function SearchBar({ search, mode, onClose }: Props) {
  const [query, setQuery] = useState("")
  const [caseSensitive, setCaseSensitive] = useState(false)
  const [results, setResults] = useState<{ index: number; count: number } | null>(null)
  const inputRef = useRef<HTMLInputElement>(null)

  useEffect(() => {
    inputRef.current?.focus()
    inputRef.current?.select()
    const subscription = search.onDidChangeResults(({ resultIndex, resultCount }) => {
      setResults({ index: resultIndex, count: resultCount })
    })
    return () => {
      subscription.dispose()
      search.clearDecorations()
    }
  }, [search])

  const options = (incremental: boolean) => ({
    caseSensitive,
    incremental,
    decorations: searchDecorations(mode),
  })

  const find = (direction: "next" | "previous", incremental = false) => {
    if (query === "") {
      search.clearDecorations()
      setResults(null)
      return
    }
    if (direction === "next") search.findNext(query, options(incremental))
    else search.findPrevious(query, options(false))
  }

  const status =
    query === "" || results === null
      ? ""
      : results.count === 0
        ? "No matches"
        : results.index >= 0
          ? `${results.index + 1} of ${results.count}`
          : `${results.count} matches`

  return (
    <div
      role="search"
      data-testid="terminal-search"
      className="bg-popover text-popover-foreground absolute top-2 right-4 z-20 flex items-center gap-1 rounded-lg border p-1 shadow-lg"
    >
      <Input
        ref={inputRef}
        aria-label="Find in terminal"
        data-testid="terminal-search-input"
        placeholder="Find"
        className="h-8 w-40 border-0 shadow-none focus-visible:ring-0 sm:w-56 dark:bg-transparent"
        value={query}
        onChange={(e) => {
          const next = e.target.value
          setQuery(next)
          if (next === "") {
            search.clearDecorations()
            setResults(null)
          } else {
            search.findNext(next, options(true))
          }
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault()
            find(e.shiftKey ? "previous" : "next")
          } else if (e.key === "Escape") {
            e.preventDefault()
            onClose()
          }
        }}
      />
      <span className="text-muted-foreground min-w-16 text-center text-xs tabular-nums" aria-live="polite">
        {status}
      </span>
      <Button
        variant="ghost"
        size="icon-sm"
        aria-label="Match case"
        aria-pressed={caseSensitive}
        className={cn(caseSensitive && "bg-accent text-accent-foreground")}
        onClick={() => {
          setCaseSensitive((v) => !v)
        }}
      >
        <CaseSensitive aria-hidden />
      </Button>
      <Button variant="ghost" size="icon-sm" aria-label="Previous match" onClick={() => find("previous")}>
        <ChevronUp aria-hidden />
      </Button>
      <Button variant="ghost" size="icon-sm" aria-label="Next match" onClick={() => find("next")}>
        <ChevronDown aria-hidden />
      </Button>
      <Button variant="ghost" size="icon-sm" aria-label="Close search" onClick={onClose}>
        <X aria-hidden />
      </Button>
    </div>
  )
}
