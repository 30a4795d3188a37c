import { FitAddon } from "@xterm/addon-fit"
import { SearchAddon } from "@xterm/addon-search"
import { Unicode11Addon } from "@xterm/addon-unicode11"
import { WebLinksAddon } from "@xterm/addon-web-links"
import { WebglAddon } from "@xterm/addon-webgl"
import { Terminal } from "@xterm/xterm"
import "@xterm/xterm/css/xterm.css"
import { CircleAlert, LoaderCircle, Play, Plug, RotateCcw, SquareTerminal } from "lucide-react"
import { useEffect, useImperativeHandle, useRef, useState, type Ref } from "react"
import { Link } from "react-router"
import { toast } from "sonner"

import { Button } from "@/components/ui/button"
import { describeError, isNotFound } from "@/lib/api/errors"
import { apiCalls } from "@/lib/api/endpoints"
import { useTheme } from "@/lib/theme/theme"
import { TerminalConnection, type ConnectionState, type Diagnosis } from "@/lib/terminal/connection"
import { isMacPlatform, shortcutFor } from "@/lib/terminal/keys"
import { encodeBinaryInput, terminalSocketUrl } from "@/lib/terminal/protocol"
import { terminalTheme } from "@/lib/terminal/themes"
import { useStartEnvironment } from "@/features/environments/hooks"
import { useUpdateSession } from "@/features/sessions/hooks"
import { SearchBar } from "@/features/terminal/SearchBar"

export interface TerminalHandle {
  openSearch: () => void
  reconnectNow: () => void
  focus: () => void
}

interface Props {
  environmentId: string
  sessionId: string
  sessionName: string
  /** The visible tab: hidden ones keep their socket but are not measured. */
  active: boolean
  onStateChange: (sessionId: string, state: ConnectionState) => void
  ref?: Ref<TerminalHandle>
}

const FONT_FAMILY =
  'ui-monospace, "SFMono-Regular", "JetBrains Mono", "Cascadia Code", Menlo, Consolas, "Liberation Mono", monospace'

async function diagnose(environmentId: string, sessionId: string): Promise<Diagnosis> {
  try {
    await apiCalls.getSession(sessionId)
  } catch (error) {
    if (isNotFound(error)) return { kind: "not-found" }
    return { kind: "retry", message: describeError(error) }
  }
  const env = await apiCalls.getEnvironment(environmentId)
  switch (env.status) {
    case "stopped":
      return {
        kind: "stop",
        message: "The environment is stopped. Start it to open this terminal.",
        action: "start-environment",
      }
    case "error":
      return { kind: "stop", message: env.error ?? "The environment failed; see its page." }
    case "deleting":
      return { kind: "stop", message: "The environment is being deleted." }
    case "creating":
      return { kind: "retry", message: "The environment is still being created." }
    default:
      return { kind: "retry", message: "The server refused the connection." }
  }
}

/** The Clipboard API, which pages served over plain http (other than localhost) lack. */
function clipboard(): Clipboard | undefined {
  return (navigator as Partial<Navigator>).clipboard
}

async function copyText(text: string): Promise<void> {
  const api = clipboard()
  if (api) {
    await api.writeText(text)
    return
  }
  // Pages served over plain http (not localhost) have no Clipboard API.
  const area = document.createElement("textarea")
  area.value = text
  area.setAttribute("readonly", "")
  area.style.position = "fixed"
  area.style.opacity = "0"
  document.body.appendChild(area)
  area.select()
  // The only way to copy without the Clipboard API.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const ok = document.execCommand("copy")
  area.remove()
  if (!ok) throw new Error("the browser refused to copy")
}

export function TerminalView({ environmentId, sessionId, sessionName, active, onStateChange, ref }: Props) {
  const containerRef = useRef<HTMLDivElement>(null)
  const terminalRef = useRef<Terminal | null>(null)
  const connectionRef = useRef<TerminalConnection | null>(null)
  const fitRef = useRef<FitAddon | null>(null)
  const [search, setSearch] = useState<SearchAddon | null>(null)
  const [searchOpen, setSearchOpen] = useState(false)
  const [state, setState] = useState<ConnectionState>({ kind: "connecting", attempt: 0 })
  const { resolved } = useTheme()
  const onStateChangeRef = useRef(onStateChange)
  const activeRef = useRef(active)
  const restart = useUpdateSession()
  const startEnvironment = useStartEnvironment()

  useEffect(() => {
    onStateChangeRef.current = onStateChange
    activeRef.current = active
  })

  useImperativeHandle(
    ref,
    () => ({
      openSearch: () => {
        setSearchOpen(true)
      },
      reconnectNow: () => connectionRef.current?.reconnectNow(),
      focus: () => terminalRef.current?.focus(),
    }),
    [],
  )

  // The terminal and its connection live as long as this view.
  useEffect(() => {
    const container = containerRef.current
    if (!container) return
    const isMac = isMacPlatform()
    const terminal = new Terminal({
      allowProposedApi: true,
      cursorBlink: true,
      fontFamily: FONT_FAMILY,
      fontSize: 13,
      lineHeight: 1.15,
      scrollback: 10_000,
      macOptionIsMeta: true,
      macOptionClickForcesSelection: true,
      rightClickSelectsWord: isMac,
      theme: terminalTheme(document.documentElement.classList.contains("dark") ? "dark" : "light"),
    })
    const fit = new FitAddon()
    const searchAddon = new SearchAddon()
    terminal.loadAddon(fit)
    terminal.loadAddon(searchAddon)
    terminal.loadAddon(
      new WebLinksAddon((event, uri) => {
        event.preventDefault()
        window.open(uri, "_blank", "noopener,noreferrer")
      }),
    )
    terminal.loadAddon(new Unicode11Addon())
    terminal.unicode.activeVersion = "11"
    terminal.open(container)

    // The GPU renderer when the browser has WebGL; the DOM renderer otherwise, or once the
    // GPU context is lost (e.g. too many contexts, a driver reset).
    try {
      const webgl = new WebglAddon()
      webgl.onContextLoss(() => {
        webgl.dispose()
      })
      terminal.loadAddon(webgl)
    } catch {
      // No WebGL: the DOM renderer draws.
    }

    terminalRef.current = terminal
    fitRef.current = fit
    setSearch(searchAddon)

    const fitNow = () => {
      if (container.offsetWidth === 0 || container.offsetHeight === 0) return
      try {
        fit.fit()
      } catch {
        // Not measurable yet (fonts loading); the next resize fits.
      }
    }
    fitNow()

    const connection = new TerminalConnection({
      getTicket: async () => (await apiCalls.terminalTicket(sessionId)).ticket,
      diagnose: () => diagnose(environmentId, sessionId),
      url: (ticket, size) => terminalSocketUrl(window.location, sessionId, ticket, size.cols, size.rows),
      size: () => ({ cols: terminal.cols, rows: terminal.rows }),
      onData: (bytes) => {
        terminal.write(bytes)
      },
      onState: (next) => {
        setState(next)
        onStateChangeRef.current(sessionId, next)
      },
      onServerError: (message) => {
        toast.warning("The terminal reported a problem", { description: message, id: `terminal-error-${sessionId}` })
      },
    })
    connectionRef.current = connection

    const dataListener = terminal.onData((data) => connection.send(data))
    const binaryListener = terminal.onBinary((data) => connection.sendBytes(encodeBinaryInput(data)))
    const resizeListener = terminal.onResize(({ cols, rows }) => {
      connection.resize(cols, rows)
    })

    terminal.attachCustomKeyEventHandler((event) => {
      const shortcut = shortcutFor(event, isMac)
      if (!shortcut) return true
      switch (shortcut) {
        case "copy": {
          if (!terminal.hasSelection()) return false
          event.preventDefault()
          const text = terminal.getSelection()
          copyText(text)
            .then(() => {
              toast.success("Copied", { id: "terminal-copy", duration: 1200 })
            })
            .catch((e: unknown) => {
              toast.error("Could not copy", { description: describeError(e) })
            })
          return false
        }
        case "paste": {
          event.preventDefault()
          const api = clipboard()
          if (!api) {
            toast.error("This page cannot read the clipboard", {
              description: "Use Shift+Insert or the browser's Paste menu instead.",
            })
            return false
          }
          api
            .readText()
            .then((text) => {
              if (text) terminal.paste(text)
            })
            .catch(() => {
              toast.error("Clipboard access was refused", {
                description: "Allow clipboard access for this site, or use Shift+Insert or the browser's Paste menu.",
              })
            })
          return false
        }
        case "search":
          event.preventDefault()
          setSearchOpen(true)
          return false
      }
    })

    let frame = 0
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame)
      frame = requestAnimationFrame(fitNow)
    })
    observer.observe(container)

    // Back online or back in view: do not wait out the backoff.
    const hurry = () => {
      if (connection.state.kind === "reconnecting") connection.reconnectNow()
    }
    const onVisibility = () => {
      if (document.visibilityState === "visible") hurry()
    }
    window.addEventListener("online", hurry)
    document.addEventListener("visibilitychange", onVisibility)

    connection.connect()
    if (activeRef.current) terminal.focus()

    return () => {
      window.removeEventListener("online", hurry)
      document.removeEventListener("visibilitychange", onVisibility)
      cancelAnimationFrame(frame)
      observer.disconnect()
      dataListener.dispose()
      binaryListener.dispose()
      resizeListener.dispose()
      connection.dispose()
      // xterm 5.5 syncs its viewport in a timeout set when it opens; disposing before that
      // has run makes it throw, so dispose after it.
      setTimeout(() => {
        terminal.dispose()
      }, 0)
      terminalRef.current = null
      connectionRef.current = null
      fitRef.current = null
    }
  }, [environmentId, sessionId])

  // Follow the app's theme.
  useEffect(() => {
    const terminal = terminalRef.current
    if (terminal) terminal.options.theme = terminalTheme(resolved)
  }, [resolved])

  // A tab that becomes visible is measured again (it may have been resized while hidden).
  // Focus is the page's business: a keyboard user moving along the tabs keeps it there.
  useEffect(() => {
    if (!active) return
    const frame = requestAnimationFrame(() => {
      const container = containerRef.current
      if (container && container.offsetWidth > 0 && container.offsetHeight > 0) {
        try {
          fitRef.current?.fit()
        } catch {
          // Measured on the next resize.
        }
      }
    })
    return () => {
      cancelAnimationFrame(frame)
    }
  }, [active])

  /** Connects again and gives the keyboard back to the terminal (the button that asked for
   * it goes away with its overlay). */
  const reconnect = () => {
    connectionRef.current?.reconnectNow()
    terminalRef.current?.focus()
  }

  const restartSession = () => {
    restart.mutate(
      { id: sessionId, input: { status: "active" } },
      {
        onSuccess: () => {
          terminalRef.current?.reset()
          reconnect()
        },
        onError: (e) => toast.error("Could not restart the session", { description: describeError(e) }),
      },
    )
  }

  const startAndConnect = () => {
    startEnvironment.mutate(environmentId, {
      onSuccess: reconnect,
      onError: (e) => toast.error("Could not start the environment", { description: describeError(e) }),
    })
  }

  const closeSearch = () => {
    setSearchOpen(false)
    terminalRef.current?.focus()
  }

  return (
    <div
      className="relative h-full w-full"
      data-testid="terminal-view"
      data-session-id={sessionId}
      data-state={state.kind}
      data-active={active}
    >
      <div
        ref={containerRef}
        data-testid="terminal-container"
        data-active={active}
        className="h-full w-full overflow-hidden px-2 pt-1.5 pb-1"
        style={{ backgroundColor: terminalTheme(resolved).background }}
      />
      {searchOpen && search && <SearchBar search={search} mode={resolved} onClose={closeSearch} />}
      {state.kind === "connecting" && state.attempt === 0 && (
        <div className="pointer-events-none absolute inset-0 flex items-center justify-center">
          <div className="bg-background/90 text-muted-foreground flex items-center gap-2 rounded-full border px-3 py-1.5 text-xs shadow-sm">
            <LoaderCircle className="size-3.5 animate-spin" aria-hidden />
            Opening {sessionName}…
          </div>
        </div>
      )}
      {state.kind === "ended" && (
        <Overlay testId="session-ended" icon={<SquareTerminal />} title="The session has ended">
          <p>
            Its shell exited{state.code !== null ? ` with code ${state.code}` : ""}. Restart it to get a new shell in the same
            folder.
          </p>
          <Button data-testid="restart-session-button" onClick={restartSession} disabled={restart.isPending}>
            {restart.isPending ? <LoaderCircle className="animate-spin" aria-hidden /> : <RotateCcw aria-hidden />}
            Restart session
          </Button>
        </Overlay>
      )}
      {state.kind === "detached" && (
        <Overlay testId="session-detached" icon={<Plug />} title="Detached from tmux">
          <p>The session keeps running. Attach again to see it.</p>
          <Button onClick={reconnect}>
            <Plug aria-hidden />
            Attach again
          </Button>
        </Overlay>
      )}
      {state.kind === "error" && (
        <Overlay testId="terminal-error" icon={<CircleAlert />} title="Cannot open this terminal" tone="error">
          <p>{state.message}</p>
          <div className="flex flex-wrap justify-center gap-2">
            {state.action === "start-environment" && (
              <Button onClick={startAndConnect} disabled={startEnvironment.isPending}>
                {startEnvironment.isPending ? <LoaderCircle className="animate-spin" aria-hidden /> : <Play aria-hidden />}
                Start environment
              </Button>
            )}
            {state.retryable && (
              <Button variant="outline" onClick={reconnect}>
                <RotateCcw aria-hidden />
                Try again
              </Button>
            )}
            <Button variant="outline" asChild>
              <Link to={`/environments/${environmentId}`}>Back to the environment</Link>
            </Button>
          </div>
        </Overlay>
      )}
    </div>
  )
}

function Overlay({
  icon,
  title,
  children,
  testId,
  tone = "neutral",
}: {
  icon: React.ReactNode
  title: string
  children: React.ReactNode
  testId: string
  tone?: "neutral" | "error"
}) {
  return (
    <div className="bg-background/70 absolute inset-0 z-10 flex items-center justify-center p-4 backdrop-blur-[2px]">
      <div
        role="alert"
        data-testid={testId}
        className="bg-card text-card-foreground flex max-w-md flex-col items-center gap-3 rounded-xl border p-6 text-center text-sm shadow-lg"
      >
        <div
          className={
            tone === "error"
              ? "bg-destructive/10 text-destructive flex size-10 items-center justify-center rounded-full [&_svg]:size-5"
              : "bg-muted text-muted-foreground flex size-10 items-center justify-center rounded-full [&_svg]:size-5"
          }
        >
          {icon}
        </div>
        <h2 className="text-base font-semibold">{title}</h2>
        <div className="text-muted-foreground flex flex-col items-center gap-4">{children}</div>
      </div>
    </div>
  )
}
