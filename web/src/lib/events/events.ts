// The events of `GET /api/events`, checked as they arrive: an event this version does not
// know, or whose data is not what it should be, is dropped rather than written to the cache.

import type { Notice, SessionActivity } from "@/lib/api/types"
import type { ServerSentEvent } from "@/lib/events/parser"

export type LiveEvent =
  | { type: "ready" }
  | { type: "resync" }
  | { type: "session.activity"; sessionId: string; environmentId: string; activity: SessionActivity }
  | { type: "session.status"; sessionId: string; environmentId: string; status: string }
  | { type: "environment.status"; environmentId: string; status: string; error?: string | null }
  | { type: "workspace.status"; workspaceId: string; environmentId: string; status: string }
  | { type: "workspace.devcontainer"; workspaceId: string; environmentId: string; status: string }
  | { type: "deployment.status"; deploymentId: string; environmentId: string; status: string }
  | { type: "notification"; notice: Notice }

type Fields = Record<string, unknown>

const isString = (v: unknown): v is string => typeof v === "string"

function strings(data: Fields, ...names: string[]): boolean {
  return names.every((n) => isString(data[n]))
}

function activityOf(value: unknown): SessionActivity | null {
  if (typeof value !== "object" || value === null) return null
  const a = value as Fields
  if (!strings(a, "state", "since")) return null
  if (a.detail !== undefined && a.detail !== null && !isString(a.detail)) return null
  return { state: a.state as string, since: a.since as string, ...(isString(a.detail) ? { detail: a.detail } : {}) }
}

/** The event `raw` stands for, or null when it is unknown or malformed. */
export function decodeEvent(raw: ServerSentEvent): LiveEvent | null {
  if (raw.event === "ready" || raw.event === "resync") return { type: raw.event }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw.data)
  } catch {
    return null
  }
  if (typeof parsed !== "object" || parsed === null) return null
  const d = parsed as Fields
  switch (raw.event) {
    case "session.activity": {
      const activity = activityOf(d.activity)
      if (!activity || !strings(d, "sessionId", "environmentId")) return null
      return { type: raw.event, sessionId: d.sessionId as string, environmentId: d.environmentId as string, activity }
    }
    case "session.status":
      if (!strings(d, "sessionId", "environmentId", "status")) return null
      return {
        type: raw.event,
        sessionId: d.sessionId as string,
        environmentId: d.environmentId as string,
        status: d.status as string,
      }
    case "environment.status":
      if (!strings(d, "environmentId", "status")) return null
      return {
        type: raw.event,
        environmentId: d.environmentId as string,
        status: d.status as string,
        error: isString(d.error) ? d.error : null,
      }
    case "workspace.status":
      if (!strings(d, "workspaceId", "environmentId", "status")) return null
      return {
        type: raw.event,
        workspaceId: d.workspaceId as string,
        environmentId: d.environmentId as string,
        status: d.status as string,
      }
    case "workspace.devcontainer":
      if (!strings(d, "workspaceId", "environmentId", "status")) return null
      return {
        type: raw.event,
        workspaceId: d.workspaceId as string,
        environmentId: d.environmentId as string,
        status: d.status as string,
      }
    case "deployment.status":
      if (!strings(d, "deploymentId", "environmentId", "status")) return null
      return {
        type: raw.event,
        deploymentId: d.deploymentId as string,
        environmentId: d.environmentId as string,
        status: d.status as string,
      }
    case "notification":
      if (!strings(d, "sessionId", "environmentId", "state", "title", "text")) return null
      if (d.detail !== undefined && d.detail !== null && !isString(d.detail)) return null
      return {
        type: raw.event,
        notice: {
          sessionId: d.sessionId as string,
          environmentId: d.environmentId as string,
          state: d.state as string,
          title: d.title as string,
          text: d.text as string,
          ...(isString(d.detail) ? { detail: d.detail } : {}),
        },
      }
    default:
      return null
  }
}
