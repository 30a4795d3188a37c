import type { ITheme } from "@xterm/xterm"

export const darkTheme: ITheme = {
  background: "#09090b",
  foreground: "#e4e4e7",
  cursor: "#e4e4e7",
  cursorAccent: "#09090b",
  selectionBackground: "#3f3f4699",
  selectionInactiveBackground: "#3f3f4666",
  black: "#18181b",
  red: "#f87171",
  green: "#4ade80",
  yellow: "#facc15",
  blue: "#60a5fa",
  magenta: "#c084fc",
  cyan: "#22d3ee",
  white: "#d4d4d8",
  brightBlack: "#71717a",
  brightRed: "#fca5a5",
  brightGreen: "#86efac",
  brightYellow: "#fde047",
  brightBlue: "#93c5fd",
  brightMagenta: "#d8b4fe",
  brightCyan: "#67e8f9",
  brightWhite: "#fafafa",
}

export const lightTheme: ITheme = {
  background: "#ffffff",
  foreground: "#27272a",
  cursor: "#27272a",
  cursorAccent: "#ffffff",
  selectionBackground: "#a1a1aa66",
  selectionInactiveBackground: "#a1a1aa44",
  black: "#27272a",
  red: "#dc2626",
  green: "#15803d",
  yellow: "#a16207",
  blue: "#1d4ed8",
  magenta: "#9333ea",
  cyan: "#0e7490",
  white: "#a1a1aa",
  brightBlack: "#52525b",
  brightRed: "#ef4444",
  brightGreen: "#16a34a",
  brightYellow: "#ca8a04",
  brightBlue: "#2563eb",
  brightMagenta: "#a855f7",
  brightCyan: "#0891b2",
  brightWhite: "#71717a",
}

export function terminalTheme(mode: "light" | "dark"): ITheme {
  return mode === "dark" ? darkTheme : lightTheme
}

/** Search highlights that read on both backgrounds. */
export function searchDecorations(mode: "light" | "dark") {
  return mode === "dark"
    ? {
        matchBackground: "#854d0e",
        matchOverviewRuler: "#facc15",
        activeMatchBackground: "#ea580c",
        activeMatchBorder: "#fdba74",
        activeMatchColorOverviewRuler: "#fb923c",
      }
    : {
        matchBackground: "#fde68a",
        matchOverviewRuler: "#ca8a04",
        activeMatchBackground: "#fb923c",
        activeMatchBorder: "#c2410c",
        activeMatchColorOverviewRuler: "#ea580c",
      }
}
