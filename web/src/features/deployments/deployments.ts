// What the deployments panel knows without asking: which statuses are final, how each one
// looks, what an application id must be, and the last one used per environment.

import type { Deployment } from "@/lib/api/types"

/** `queued` and `in_progress` move on by themselves; everything else has ended. */
export function isFinal(status: string): boolean {
  return status !== "queued" && status !== "in_progress"
}

export interface StatusLook {
  label: string
  className: string
  /** Still under way: shown with a spinner. */
  busy: boolean
  hint: string
}

const LOOKS: Record<string, StatusLook> = {
  queued: {
    label: "Queued",
    className: "border-info/30 bg-info/10 text-info",
    busy: true,
    hint: "Coolify has queued it; it starts when a builder is free",
  },
  in_progress: {
    label: "In progress",
    className: "border-info/30 bg-info/10 text-info",
    busy: true,
    hint: "Coolify is building and starting it",
  },
  finished: {
    label: "Finished",
    className: "border-success/30 bg-success/10 text-success",
    busy: false,
    hint: "Deployed",
  },
  failed: {
    label: "Failed",
    className: "border-destructive/30 bg-destructive/10 text-destructive",
    busy: false,
    hint: "It did not deploy; Coolify's log says why",
  },
  cancelled: {
    label: "Cancelled",
    className: "border-border bg-muted text-muted-foreground",
    busy: false,
    hint: "Cancelled in Coolify",
  },
}

export function statusLook(status: string): StatusLook {
  return LOOKS[status] ?? { label: status, className: "border-border bg-muted text-muted-foreground", busy: false, hint: status }
}

/** Why Craftastic would refuse `appId`, or null: Coolify's uuids are letters and digits. */
export function appIdProblem(appId: string): string | null {
  const id = appId.trim()
  if (id === "") return "Enter the uuid of the Coolify application."
  if (id.length > 64 || !/^[A-Za-z0-9]+$/.test(id)) {
    return "A Coolify application uuid is 1 to 64 letters and digits, as in the application's URL in Coolify."
  }
  return null
}

const APP_ID_KEY = "craftastic.deploy.appId."

/** The application last deployed to from this environment, in this browser. */
export function rememberedAppId(environmentId: string, storage: Storage = localStorage): string {
  try {
    return storage.getItem(APP_ID_KEY + environmentId) ?? ""
  } catch {
    return ""
  }
}

export function rememberAppId(environmentId: string, appId: string, storage: Storage = localStorage): void {
  try {
    storage.setItem(APP_ID_KEY + environmentId, appId)
  } catch {
    // Storage may be full or blocked; the field just starts empty next time.
  }
}

/** "42 s", "3 min 5 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  const rest = s % 60
  if (m < 60) return rest === 0 ? `${m} min` : `${m} min ${rest} s`
  const h = Math.floor(m / 60)
  return `${h} h ${m % 60} min`
}

/** A string from the deployment's metadata, or undefined when missing or not a string. */
export function meta(deployment: Deployment, key: string): string | undefined {
  const value = deployment.metadata[key]
  return typeof value === "string" && value.trim() !== "" ? value : undefined
}

/** Replaces `fresh` in a list of deployments (kept newest first), or adds it at the top. */
export function withDeployment(list: Deployment[] | undefined, fresh: Deployment): Deployment[] {
  if (!list) return [fresh]
  return list.some((d) => d.id === fresh.id) ? list.map((d) => (d.id === fresh.id ? fresh : d)) : [fresh, ...list]
}
