const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" })

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
]

/** "3 minutes ago", "yesterday", "just now". */
export function timeAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "never"
  const at = Date.parse(iso)
  if (Number.isNaN(at)) return "unknown"
  const seconds = Math.round((at - now) / 1000)
  if (Math.abs(seconds) < 45) return "just now"
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "minute") return relative.format(Math.round(seconds / size), unit)
  }
  return "just now"
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—"
  const at = new Date(iso)
  return Number.isNaN(at.getTime())
    ? "—"
    : at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—"
  const at = new Date(iso)
  return Number.isNaN(at.getTime()) ? "—" : at.toLocaleDateString(undefined, { dateStyle: "long" })
}

/** `https://github.com/ada/app.git` and `git@github.com:ada/app.git` → `ada/app` (a port
 * in the host is no part of the name); local paths as they are. */
export function shortRepository(url: string): string {
  const m = /^(?:(?:https?|ssh):\/\/(?:[^@/]+@)?[^/]+\/|(?:[^@/:]+@)?[^/:]+:)(.+?)(?:\.git)?\/?$/.exec(url)
  return m?.[1] ?? url
}

export function pluralize(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

const BYTE_UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"]

/** `10.3 GiB`, `50 MiB`, `512 B`: binary units, as the server words its disk caps. */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 1024) return `${bytes} B`
  let value = bytes / 1024
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${value.toFixed(1).replace(/\.0$/, "")} ${BYTE_UNITS[unit]}`
}

/** A workspace's disk use, `1.2 GiB of 10 GiB` (or without a cap `1.2 GiB`); `null` before
 * its first measurement. */
export function diskUse(w: { diskBytes?: number | null; diskLimitBytes?: number | null }): string | null {
  if (w.diskBytes == null) return null
  return w.diskLimitBytes == null
    ? formatBytes(w.diskBytes)
    : `${formatBytes(w.diskBytes)} of ${formatBytes(w.diskLimitBytes)}`
}
