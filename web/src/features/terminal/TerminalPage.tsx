import { ArrowLeft, Bot, Film, Plus, Search, SearchX, X } from "lucide-react"
import { useCallback, useEffect, useRef, useState } from "react"
import { Link, useNavigate, useParams } from "react-router"

import { EmptyState, ErrorState } from "@/components/States"
import { ThemeToggle } from "@/components/ThemeToggle"
import { Button } from "@/components/ui/button"
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu"
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip"
import { useDocumentTitle } from "@/hooks/useDocumentTitle"
import { isNotFound } from "@/lib/api/errors"
import type { Environment, Session } from "@/lib/api/types"
import type { ConnectionState } from "@/lib/terminal/connection"
import { isMacPlatform, shortcutLabel } from "@/lib/terminal/keys"
import { readOpenTabs, withTab, withoutTab, writeOpenTabs } from "@/lib/terminal/tabs"
import { cn } from "@/lib/utils"
import { AttentionCount } from "@/features/attention/AttentionCount"
import { useEnvironment } from "@/features/environments/hooks"
import { LiveIndicator } from "@/features/layout/LiveIndicator"
import { ActivityBadge } from "@/features/sessions/ActivityBadge"
import { CreateSessionDialog } from "@/features/sessions/CreateSessionDialog"
import { ConnectionIndicator, StateDot } from "@/features/terminal/ConnectionIndicator"
import { TerminalView, type TerminalHandle } from "@/features/terminal/TerminalView"

const CONNECTING: ConnectionState = { kind: "connecting", attempt: 0 }

/** `/environments/:envId/terminal/:sessionId`: one page per environment, its terminals in tabs. */
export default function TerminalRoute() {
  const { envId = "", sessionId = "" } = useParams()
  return <TerminalWorkspace key={envId} environmentId={envId} sessionId={sessionId} />
}

function TerminalWorkspace({ environmentId, sessionId }: { environmentId: string; sessionId: string }) {
  const navigate = useNavigate()
  const environment = useEnvironment(environmentId)
  const [stored, setStored] = useState<string[]>(() => readOpenTabs(environmentId))
  // Views are created when their tab is first shown, then kept (with their socket) while hidden.
  const [mounted, setMounted] = useState<string[]>(() => [sessionId])
  const [states, setStates] = useState<Record<string, ConnectionState>>({})
  const [creating, setCreating] = useState(false)
  const handles = useRef(new Map<string, TerminalHandle>())
  const activeId = useRef(sessionId)
  const isMac = isMacPlatform()

  useEffect(() => {
    activeId.current = sessionId
  }, [sessionId])

  /** Puts the keyboard in the visible terminal once the page has settled (e.g. after a menu
   * or a dialog has closed and handed focus back). */
  const focusTerminal = useCallback(() => {
    requestAnimationFrame(() => {
      requestAnimationFrame(() => handles.current.get(activeId.current)?.focus())
    })
  }, [])

  const sessions = new Map<string, Session>((environment.data?.sessions ?? []).map((s) => [s.id, s]))
  // Tabs of sessions deleted meanwhile go; the one in the address stays and says it is gone.
  const tabs = withTab(environment.data ? stored.filter((id) => sessions.has(id)) : stored, sessionId)
  const live = withTab(mounted, sessionId).filter((id) => tabs.includes(id))
  const tabsKey = tabs.join("\n")
  useEffect(() => {
    writeOpenTabs(environmentId, tabsKey.split("\n"))
  }, [environmentId, tabsKey])

  const nameOf = (id: string) => sessions.get(id)?.name ?? (environment.isPending ? "…" : "Unknown session")
  useDocumentTitle(environment.data ? `${nameOf(sessionId)} · ${environment.data.name}` : "Terminal")

  const onStateChange = useCallback((id: string, state: ConnectionState) => {
    setStates((prev) => ({ ...prev, [id]: state }))
  }, [])

  const show = (id: string) => {
    setStored((s) => withTab(withTab(s, sessionId), id))
    setMounted((m) => withTab(withTab(m, sessionId), id))
    if (id !== sessionId) void navigate(`/environments/${environmentId}/terminal/${id}`, { replace: true })
  }

  const close = (id: string) => {
    const { tabs: rest, next } = withoutTab(tabs, id)
    setStored(rest)
    setMounted((m) => m.filter((x) => x !== id))
    setStates(({ [id]: _gone, ...others }) => others)
    handles.current.delete(id)
    if (id !== sessionId) return
    if (next) void navigate(`/environments/${environmentId}/terminal/${next}`, { replace: true })
    else void navigate(`/environments/${environmentId}`)
  }

  const onTabKey = (event: React.KeyboardEvent, id: string) => {
    const index = tabs.indexOf(id)
    let target: string | undefined
    if (event.key === "ArrowRight") target = tabs[(index + 1) % tabs.length]
    else if (event.key === "ArrowLeft") target = tabs[(index - 1 + tabs.length) % tabs.length]
    else if (event.key === "Home") target = tabs[0]
    else if (event.key === "End") target = tabs[tabs.length - 1]
    else if (event.key === "Delete") {
      event.preventDefault()
      close(id)
      return
    }
    if (!target) return
    event.preventDefault()
    show(target)
    document.getElementById(`terminal-tab-${target}`)?.focus()
  }

  if (environment.isError && isNotFound(environment.error)) {
    return (
      <div className="flex min-h-full items-center justify-center p-4">
        <EmptyState
          icon={<SearchX />}
          title="Environment not found"
          action={
            <Button asChild variant="outline">
              <Link to="/">Back to environments</Link>
            </Button>
          }
        >
          It may have been deleted, or it belongs to another account.
        </EmptyState>
      </div>
    )
  }

  const activeState = states[sessionId] ?? CONNECTING
  const notOpen = (environment.data?.sessions ?? []).filter((s) => !tabs.includes(s.id))

  return (
    <div className="bg-background flex h-dvh flex-col" data-testid="terminal-page">
      <header className="flex h-12 shrink-0 items-center gap-1 border-b px-2 sm:gap-2">
        <Tooltip>
          <TooltipTrigger asChild>
            <Button variant="ghost" size="sm" asChild className="shrink-0 px-2">
              <Link to={`/environments/${environmentId}`} aria-label={`Back to ${environment.data?.name ?? "the environment"}`}>
                <ArrowLeft aria-hidden />
                <span className="hidden max-w-40 truncate md:inline">{environment.data?.name ?? "Environment"}</span>
              </Link>
            </Button>
          </TooltipTrigger>
          <TooltipContent>Back to the environment</TooltipContent>
        </Tooltip>

        <div
          role="tablist"
          aria-label="Terminals"
          className="flex min-w-0 flex-1 items-center gap-1 overflow-x-auto [scrollbar-width:none]"
          data-testid="terminal-tabs"
        >
          {tabs.map((id) => {
            const selected = id === sessionId
            const name = nameOf(id)
            const session = sessions.get(id)
            return (
              <div
                key={id}
                data-testid="terminal-tab"
                data-session-id={id}
                data-active={selected}
                className={cn(
                  "flex h-8 shrink-0 items-center rounded-md border text-sm transition-colors",
                  selected
                    ? "bg-muted border-border text-foreground"
                    : "text-muted-foreground hover:bg-accent/60 hover:text-foreground border-transparent",
                )}
              >
                <button
                  type="button"
                  role="tab"
                  id={`terminal-tab-${id}`}
                  aria-selected={selected}
                  aria-controls={`terminal-panel-${id}`}
                  tabIndex={selected ? 0 : -1}
                  onClick={() => {
                    show(id)
                    focusTerminal()
                  }}
                  onKeyDown={(e) => {
                    onTabKey(e, id)
                  }}
                  onAuxClick={(e) => {
                    if (e.button === 1) close(id)
                  }}
                  className="focus-visible:ring-ring/50 flex h-full max-w-72 items-center gap-2 rounded-l-md pr-1 pl-2.5 outline-none focus-visible:ring-[3px]"
                  title={session ? `${name} · ${session.gitBranch}` : name}
                >
                  <StateDot state={states[id] ?? (live.includes(id) ? CONNECTING : { kind: "closed" })} />
                  {session?.sessionType === "agent" && (
                    <Bot className="size-3.5 shrink-0" aria-label="agent session" data-testid="terminal-tab-agent" />
                  )}
                  <span className="truncate">{name}</span>
                  {session && <ActivityBadge activity={session.activity} className="h-4.5 px-1.5" />}
                </button>
                <button
                  type="button"
                  aria-label={`Close ${name}`}
                  data-testid="close-terminal-tab"
                  onClick={() => {
                    close(id)
                  }}
                  className="hover:bg-background/80 focus-visible:ring-ring/50 mr-1 rounded p-0.5 opacity-60 outline-none hover:opacity-100 focus-visible:opacity-100 focus-visible:ring-[3px]"
                >
                  <X className="size-3.5" aria-hidden />
                </button>
              </div>
            )
          })}
          <AddTabMenu
            environment={environment.data}
            sessions={notOpen}
            onPick={show}
            onCreate={() => {
              setCreating(true)
            }}
            onPicked={focusTerminal}
          />
        </div>

        <div className="flex shrink-0 items-center gap-1">
          <LiveIndicator quiet />
          <AttentionCount />
          <ConnectionIndicator state={activeState} onRetryNow={() => handles.current.get(sessionId)?.reconnectNow()} />
          <Tooltip>
            <TooltipTrigger asChild>
              <Button
                variant="ghost"
                size="icon-sm"
                aria-label="Find in terminal"
                data-testid="terminal-search-button"
                onClick={() => handles.current.get(sessionId)?.openSearch()}
              >
                <Search aria-hidden />
              </Button>
            </TooltipTrigger>
            <TooltipContent>Find ({shortcutLabel("search", isMac)})</TooltipContent>
          </Tooltip>
          <Tooltip>
            <TooltipTrigger asChild>
              <Button variant="ghost" size="icon-sm" asChild>
                <Link
                  to={`/environments/${environmentId}/replay/${sessionId}`}
                  aria-label="Replay the recording"
                  data-testid="terminal-replay-link"
                >
                  <Film aria-hidden />
                </Link>
              </Button>
            </TooltipTrigger>
            <TooltipContent>Replay the recording</TooltipContent>
          </Tooltip>
          <ThemeToggle size="icon-sm" />
        </div>
      </header>

      {environment.isError && (
        <div className="border-b p-2">
          <ErrorState error={environment.error} title="Could not load the environment" onRetry={() => void environment.refetch()} />
        </div>
      )}

      <div className="relative min-h-0 flex-1">
        {live.map((id) => (
          <div
            key={id}
            role="tabpanel"
            id={`terminal-panel-${id}`}
            aria-labelledby={`terminal-tab-${id}`}
            hidden={id !== sessionId}
            className="absolute inset-0"
          >
            <TerminalView
              ref={(handle) => {
                if (handle) handles.current.set(id, handle)
                else handles.current.delete(id)
              }}
              environmentId={environmentId}
              sessionId={id}
              sessionName={nameOf(id)}
              active={id === sessionId}
              onStateChange={onStateChange}
            />
          </div>
        ))}
      </div>

      {environment.data && (
        <CreateSessionDialog
          environment={environment.data}
          open={creating}
          onOpenChange={setCreating}
          initialBranch={sessions.get(sessionId)?.gitBranch}
          onCreated={(session) => {
            show(session.id)
          }}
          onCloseAutoFocus={(event) => {
            event.preventDefault()
            focusTerminal()
          }}
        />
      )}
    </div>
  )
}

function AddTabMenu({
  environment,
  sessions,
  onPick,
  onCreate,
  onPicked,
}: {
  environment: Environment | undefined
  sessions: Session[]
  onPick: (id: string) => void
  onCreate: () => void
  /** After a session was picked: where the keyboard goes instead of back to the button. */
  onPicked: () => void
}) {
  const picked = useRef(false)
  return (
    <DropdownMenu
      onOpenChange={(open) => {
        if (open) picked.current = false
      }}
    >
      <Tooltip>
        <TooltipTrigger asChild>
          <DropdownMenuTrigger asChild>
            <Button
              variant="ghost"
              size="icon-sm"
              aria-label="Open another terminal"
              data-testid="add-terminal-tab"
              disabled={!environment}
              className="shrink-0"
            >
              <Plus aria-hidden />
            </Button>
          </DropdownMenuTrigger>
        </TooltipTrigger>
        <TooltipContent>Open another terminal</TooltipContent>
      </Tooltip>
      <DropdownMenuContent
        align="start"
        className="w-64"
        onCloseAutoFocus={(event) => {
          if (!picked.current) return
          event.preventDefault()
          onPicked()
        }}
      >
        <DropdownMenuLabel>Sessions of {environment?.name}</DropdownMenuLabel>
        {sessions.length === 0 ? (
          <div className="text-muted-foreground px-2 py-1.5 text-sm">Every session is open.</div>
        ) : (
          sessions.map((s) => (
            <DropdownMenuItem
              key={s.id}
              data-testid="add-terminal-tab-session"
              onSelect={() => {
                picked.current = true
                onPick(s.id)
              }}
            >
              <StateDot
                state={s.status === "active" ? { kind: "connected" } : s.status === "dead" ? { kind: "error", message: "", retryable: false } : { kind: "closed" }}
              />
              <span className="min-w-0 flex-1 truncate">{s.name}</span>
              <ActivityBadge activity={s.activity} className="h-4.5 px-1.5" />
              <span className="text-muted-foreground max-w-24 truncate font-mono text-xs">{s.gitBranch}</span>
            </DropdownMenuItem>
          ))
        )}
        <DropdownMenuSeparator />
        <DropdownMenuItem
          onSelect={() => {
            picked.current = true
            onCreate()
          }}
          disabled={environment?.status !== "running"}
        >
          <Plus aria-hidden />
          New session…
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  )
}
