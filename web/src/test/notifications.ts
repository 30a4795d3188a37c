import { vi } from "vitest"

/** A stand-in for the browser's Notification API (jsdom has none). */
export interface FakeNotification {
  title: string
  options: NotificationOptions
  onclick: ((event: Event) => void) | null
  close: () => void
  /** Clicks it as the browser does; returns the event. */
  click: () => Event
}

/**
 * Puts a fake `Notification` on the window whose permission is `permission`; asking for it
 * answers `answer`. `throws`: the constructor throws, as Chrome's on Android does.
 */
export function stubNotifications(
  permission: NotificationPermission,
  { answer = permission, throws = false }: { answer?: NotificationPermission; throws?: boolean } = {},
) {
  const shown: FakeNotification[] = []
  const close = vi.fn()
  class Fake implements FakeNotification {
    static permission: NotificationPermission = permission
    static requestPermission = vi.fn(() => {
      Fake.permission = answer
      return Promise.resolve(answer)
    })
    onclick: ((event: Event) => void) | null = null
    readonly title: string
    readonly options: NotificationOptions
    constructor(title: string, options: NotificationOptions = {}) {
      if (throws) throw new TypeError("Illegal constructor. Use ServiceWorkerRegistration.showNotification() instead.")
      this.title = title
      this.options = options
      shown.push(this)
    }
    close(): void {
      close()
    }
    click(): Event {
      const event = new Event("click", { cancelable: true })
      this.onclick?.(event)
      return event
    }
  }
  vi.stubGlobal("Notification", Fake)
  return { shown, close, requestPermission: Fake.requestPermission }
}
