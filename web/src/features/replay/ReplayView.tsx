import { Unicode11Addon } from "@xterm/addon-unicode11"
import { Terminal } from "@xterm/xterm"
import "@xterm/xterm/css/xterm.css"
import { Pause, Play } from "lucide-react"
import { useEffect, useRef, useState } from "react"

import { Button } from "@/components/ui/button"
import { formatClock, type Cast } from "@/lib/recording/asciicast"
import { ReplayPlayer, SPEEDS, type PlayerState } from "@/lib/recording/player"
import { terminalTheme } from "@/lib/terminal/themes"
import { useTheme } from "@/lib/theme/theme"

const FONT_FAMILY =
  'ui-monospace, "SFMono-Regular", "JetBrains Mono", "Cascadia Code", Menlo, Consolas, "Liberation Mono", monospace'
/** How often a playing replay writes what came due. */
const TICK_MS = 40

/** A recording on a terminal that only shows: it opens on the last screen, and plays from
 * the start (or from where the timeline is put). */
export function ReplayView({ cast }: { cast: Cast }) {
  const containerRef = useRef<HTMLDivElement>(null)
  const terminalRef = useRef<Terminal | null>(null)
  const playerRef = useRef<ReplayPlayer | null>(null)
  const [state, setState] = useState<PlayerState>({ position: cast.duration, playing: false, speed: 1 })
  const { resolved } = useTheme()

  useEffect(() => {
    const container = containerRef.current
    if (!container) return
    const terminal = new Terminal({
      allowProposedApi: true,
      disableStdin: true,
      cursorBlink: false,
      fontFamily: FONT_FAMILY,
      fontSize: 13,
      lineHeight: 1.15,
      scrollback: 10_000,
      cols: cast.cols,
      rows: cast.rows,
      theme: terminalTheme(document.documentElement.classList.contains("dark") ? "dark" : "light"),
    })
    terminal.loadAddon(new Unicode11Addon())
    terminal.unicode.activeVersion = "11"
    terminal.open(container)
    terminalRef.current = terminal
    const player = new ReplayPlayer(cast, {
      reset: () => {
        terminal.reset()
      },
      write: (data) => {
        terminal.write(data)
      },
      resize: (cols, rows) => {
        terminal.resize(cols, rows)
      },
    })
    player.seek(cast.duration)
    playerRef.current = player
    return () => {
      playerRef.current = null
      terminalRef.current = null
      // As in the terminal view: xterm 5.5 must not be disposed before its first timeout.
      setTimeout(() => {
        terminal.dispose()
      }, 0)
    }
  }, [cast])

  useEffect(() => {
    const terminal = terminalRef.current
    if (terminal) terminal.options.theme = terminalTheme(resolved)
  }, [resolved])

  useEffect(() => {
    if (!state.playing) return
    const timer = setInterval(() => {
      const player = playerRef.current
      if (!player) return
      player.tick()
      setState(player.state)
    }, TICK_MS)
    return () => {
      clearInterval(timer)
    }
  }, [state.playing])

  const update = (change: (player: ReplayPlayer) => void) => {
    const player = playerRef.current
    if (!player) return
    change(player)
    setState(player.state)
  }

  return (
    <div className="flex h-full flex-col gap-3" data-testid="replay">
      <div
        className="min-h-0 flex-1 overflow-auto rounded-lg border p-2"
        style={{ background: terminalTheme(resolved).background }}
      >
        <div ref={containerRef} data-testid="replay-terminal" />
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <Button
          size="sm"
          data-testid="replay-play"
          aria-label={state.playing ? "Pause" : "Play"}
          onClick={() => {
            update((p) => {
              if (state.playing) p.pause()
              else p.play()
            })
          }}
        >
          {state.playing ? <Pause aria-hidden /> : <Play aria-hidden />}
          {state.playing ? "Pause" : "Play"}
        </Button>
        <input
          type="range"
          className="accent-primary min-w-40 flex-1"
          aria-label="Timeline"
          data-testid="replay-timeline"
          min={0}
          max={cast.duration}
          step={0.1}
          value={state.position}
          onChange={(event) => {
            const to = Number(event.target.value)
            update((p) => {
              p.seek(to)
            })
          }}
        />
        <span className="text-muted-foreground font-mono text-xs tabular-nums" data-testid="replay-clock">
          {formatClock(state.position)} / {formatClock(cast.duration)}
        </span>
        <div className="flex items-center gap-1" role="group" aria-label="Speed">
          {SPEEDS.map((speed) => (
            <Button
              key={speed}
              size="sm"
              variant={state.speed === speed ? "secondary" : "ghost"}
              aria-pressed={state.speed === speed}
              data-testid="replay-speed"
              data-speed={speed}
              onClick={() => {
                update((p) => {
                  p.setSpeed(speed)
                })
              }}
            >
              {speed}×
            </Button>
          ))}
        </div>
      </div>
    </div>
  )
}
