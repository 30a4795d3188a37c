// Which key presses the page takes from the terminal: copy, paste and search. Everything
// else (Ctrl+C included) goes to the shell.

export type TerminalShortcut = "copy" | "paste" | "search"

export interface KeyLike {
  type: string
  key: string
  ctrlKey: boolean
  shiftKey: boolean
  altKey: boolean
  metaKey: boolean
}

/** Ctrl+Shift+C/V/F everywhere; Cmd+C/V/F on a Mac. */
export function shortcutFor(event: KeyLike, isMac: boolean): TerminalShortcut | null {
  if (event.type !== "keydown" || event.altKey) return null
  const key = event.key.toLowerCase()
  const macCombo = isMac && event.metaKey && !event.ctrlKey
  const ctrlShift = event.ctrlKey && event.shiftKey && !event.metaKey
  if (!macCombo && !ctrlShift) return null
  if (macCombo && event.shiftKey) return null
  switch (key) {
    case "c":
      return "copy"
    case "v":
      return "paste"
    case "f":
      return "search"
    default:
      return null
  }
}

export function isMacPlatform(): boolean {
  if (typeof navigator === "undefined") return false
  const data = (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData
  return /mac|iphone|ipad|ipod/i.test(data?.platform ?? navigator.userAgent)
}

/** How to write a shortcut on this platform, for tooltips. */
export function shortcutLabel(shortcut: TerminalShortcut, isMac: boolean): string {
  const letter = { copy: "C", paste: "V", search: "F" }[shortcut]
  return isMac ? `⌘${letter}` : `Ctrl+Shift+${letter}`
}
