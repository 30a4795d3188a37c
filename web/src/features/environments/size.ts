import type { WorkspaceSize } from "@/lib/api/types"
import { formatBytes } from "@/lib/format"

/** The least a workspace needs, as the server checks it. */
export const MIN_MEMORY_BYTES = 64 * 2 ** 20
export const MIN_CPUS = 0.01
export const MIN_DISK_BYTES = 2 ** 20

const UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }

/** Bytes from a size as people write it (`512m`, `1.5 GiB`, `2g`, `1073741824`); `null`
 * when it is not one. */
export function parseSize(raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(raw.trim())
  if (!m) return null
  const [, digits = "", unit = ""] = m
  const bytes = Number(digits) * (UNITS[unit.toLowerCase()] ?? 1)
  return Number.isFinite(bytes) ? Math.round(bytes) : null
}

/** `0.5 CPU`, `2 CPUs`. */
export function formatCpus(cpus: number): string {
  const shown = String(Math.round(cpus * 100) / 100)
  return `${shown} CPU${cpus > 1 ? "s" : ""}`
}

/** `1 GiB · 0.5 CPU · 10 GiB disk`. */
export function describeSize(size: WorkspaceSize): string {
  const disk = size.diskBytes === null ? "no disk cap" : `${formatBytes(size.diskBytes)} disk`
  return `${formatBytes(size.memoryBytes)} · ${formatCpus(size.cpus)} · ${disk}`
}

/** What is wrong with a memory as typed, or null. */
export function memoryProblem(raw: string, max: number): string | null {
  const bytes = parseSize(raw)
  if (bytes === null) return "Write a size such as 512m or 2g."
  if (bytes < MIN_MEMORY_BYTES) return `A workspace needs at least ${formatBytes(MIN_MEMORY_BYTES)}.`
  if (bytes > max) return `At most ${formatBytes(max)}, the maximum of this server.`
  return null
}

/** What is wrong with CPUs as typed, or null. */
export function cpusProblem(raw: string, max: number): string | null {
  const text = raw.trim()
  if (!/^\d+(\.\d+)?$/.test(text)) return "Write a number of CPUs such as 0.5 or 2."
  const cpus = Number(text)
  if (cpus < MIN_CPUS) return `A workspace needs at least ${String(MIN_CPUS)} CPU.`
  if (cpus > max) return `At most ${formatCpus(max)}, the maximum of this server.`
  return null
}

/** What is wrong with a disk cap as typed, or null; `max` null is no maximum. */
export function diskProblem(raw: string, max: number | null): string | null {
  const bytes = parseSize(raw)
  if (bytes === null) return "Write a size such as 10g or 500m."
  if (bytes < MIN_DISK_BYTES) return `A disk cap is at least ${formatBytes(MIN_DISK_BYTES)}.`
  if (max !== null && bytes > max) return `At most ${formatBytes(max)}, the maximum of this server.`
  return null
}

/** A size as the form shows it: whole GiB as `2g`, else MiB. */
export function sizeText(bytes: number): string {
  if (bytes % 2 ** 30 === 0) return `${String(bytes / 2 ** 30)}g`
  return `${String(Math.round(bytes / 2 ** 20))}m`
}

/** How full `used` is of `limit`, from 0 to 1. */
export function share(used: number, limit: number): number {
  return limit > 0 ? Math.min(1, Math.max(0, used / limit)) : 0
}
