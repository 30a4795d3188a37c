// The browser's permission to show notifications (the Notification API), read where it may
// have changed: after asking, when the tab comes back into view, and when the browser says so.

import { useSyncExternalStore } from "react"

/** What the browser allows; `unsupported` when it has no Notification API. */
export type BrowserPermission = NotificationPermission | "unsupported"

export function notificationPermission(): BrowserPermission {
  return "Notification" in globalThis ? Notification.permission : "unsupported"
}

const listeners = new Set<() => void>()

function changed(): void {
  for (const listener of listeners) listener()
}

/**
 * Asks the browser, only when it has not been asked yet: call it from the user's gesture
 * (a click), the only moment browsers show the question.
 */
export async function requestNotificationPermission(): Promise<BrowserPermission> {
  if (!("Notification" in globalThis)) return "unsupported"
  if (Notification.permission !== "default") return Notification.permission
  try {
    return await Notification.requestPermission()
  } catch {
    return Notification.permission
  } finally {
    changed()
  }
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  document.addEventListener("visibilitychange", listener)
  window.addEventListener("focus", listener)
  let status: PermissionStatus | null = null
  let gone = false
  if ("permissions" in navigator) {
    navigator.permissions.query({ name: "notifications" }).then(
      (s) => {
        if (gone) return
        status = s
        s.addEventListener("change", listener)
      },
      () => undefined,
    )
  }
  return () => {
    gone = true
    listeners.delete(listener)
    document.removeEventListener("visibilitychange", listener)
    window.removeEventListener("focus", listener)
    status?.removeEventListener("change", listener)
  }
}

/** The browser's permission, kept current. */
export function useNotificationPermission(): BrowserPermission {
  return useSyncExternalStore(subscribe, notificationPermission)
}
