import { screen, waitFor, within } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it, vi } from "vitest"

import type { NotificationSettings, NotificationSettingsPatch } from "@/lib/api/types"
import { NotificationsCard } from "@/features/notifications/NotificationsCard"
import { stubNotifications } from "@/test/notifications"
import { json, mockFetch, renderApp, signIn } from "@/test/render"

const SECRET = "https://ntfy.sh/craftastic-s3cret-topic"

/** A server with the settings `initial`, recording each PUT and test; `put` and `test`
 * answer instead when given. */
function notificationsServer(
  initial: NotificationSettings = { browser: false, webhook: false },
  answers: { put?: () => Response; test?: () => Response } = {},
) {
  const settings = { ...initial }
  const puts: NotificationSettingsPatch[] = []
  let reads = 0
  let tests = 0
  mockFetch((url, init) => {
    const method = init?.method ?? "GET"
    if (url === "/api/notifications/settings" && method === "GET") {
      reads += 1
      return json(200, settings)
    }
    if (url === "/api/notifications/settings" && method === "PUT") {
      const patch = JSON.parse(init?.body as string) as NotificationSettingsPatch
      puts.push(patch)
      if (answers.put) return answers.put()
      if (patch.browser !== undefined) settings.browser = patch.browser
      if (patch.webhookUrl !== undefined) settings.webhook = patch.webhookUrl !== null
      return json(200, settings)
    }
    if (url === "/api/notifications/test" && method === "POST") {
      tests += 1
      return answers.test ? answers.test() : new Response(null, { status: 204 })
    }
    return undefined
  })
  return { puts, reads: () => reads, tests: () => tests }
}

function renderCard() {
  signIn()
  renderApp(<NotificationsCard />)
  return userEvent.setup()
}

const toggle = () => screen.findByRole("switch", { name: "Browser notifications" })
const permissionLine = () => screen.getByTestId("notifications-permission")

describe("NotificationsCard", () => {
  it("shows placeholders while the settings load, then the settings", async () => {
    signIn()
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (url !== "/api/notifications/settings") return json(404, { error: "not found", code: "not_found" })
        await held
        return json(200, { browser: false, webhook: false })
      }),
    )
    renderApp(<NotificationsCard />)
    expect(screen.getByLabelText("Loading the notification settings")).toHaveAttribute("aria-busy", "true")
    release()
    expect(await toggle()).toHaveAttribute("aria-checked", "false")
    expect(screen.queryByLabelText("Loading the notification settings")).not.toBeInTheDocument()
    expect(screen.getByTestId("webhook-form")).toHaveAttribute("data-state", "unset")
    expect(screen.getByLabelText("Webhook URL")).toHaveAttribute("type", "password")
    expect(screen.getByTestId("notifications-test")).toBeDisabled()
  })

  it("says so when the settings cannot be read", async () => {
    signIn()
    mockFetch(() => json(500, { error: "the database is gone", code: "internal" }))
    renderApp(<NotificationsCard />)
    expect(await screen.findByText("Could not load your notification settings")).toBeInTheDocument()
    expect(screen.getByText("The database is gone")).toBeInTheDocument()
  })

  it("checks the address before sending it, sets the webhook and never shows its address", async () => {
    const server = notificationsServer()
    const u = renderCard()
    const input = await screen.findByLabelText("Webhook URL")
    await u.type(input, "ftp://example.com/hook")
    await u.tab()
    expect(screen.getByTestId("webhook-url-message")).toHaveTextContent("The address starts with https:// or http://.")
    expect(input).toHaveAttribute("aria-invalid", "true")
    await u.click(screen.getByTestId("webhook-save"))
    expect(server.puts).toEqual([])

    await u.clear(input)
    await u.type(input, SECRET)
    expect(screen.getByTestId("webhook-url-message")).toHaveAttribute("data-kind", "hint")
    await u.click(screen.getByTestId("webhook-save"))
    await waitFor(() => {
      expect(screen.getByTestId("webhook-status")).toHaveTextContent("A webhook is set.")
    })
    expect(server.puts).toEqual([{ webhookUrl: SECRET }])
    expect(screen.queryByTestId("webhook-form")).not.toBeInTheDocument()
    expect(document.body.innerHTML).not.toContain("s3cret")
    expect(screen.getByTestId("notifications-test")).toBeEnabled()
  })

  it("shows the server's word on an address it refuses, and keeps what was typed to fix it", async () => {
    const server = notificationsServer(undefined, {
      put: () =>
        json(422, {
          error: "webhookUrl must be at most 2048 bytes",
          code: "invalid_input",
          details: { fields: { webhookUrl: "webhookUrl must be at most 2048 bytes" } },
        }),
    })
    const u = renderCard()
    const input = await screen.findByLabelText("Webhook URL")
    await u.type(input, "https://hooks.example.com/a-long-path")
    await u.click(screen.getByTestId("webhook-save"))
    await waitFor(() => {
      expect(screen.getByTestId("webhook-url-message")).toHaveTextContent("webhookUrl must be at most 2048 bytes")
    })
    expect(screen.getByTestId("webhook-url-message")).toHaveAttribute("role", "alert")
    expect(server.puts).toHaveLength(1)
    expect(input).toHaveValue("https://hooks.example.com/a-long-path")
  })

  it("replaces the webhook, or removes it after asking", async () => {
    const server = notificationsServer({ browser: false, webhook: true })
    const u = renderCard()
    await u.click(await screen.findByTestId("webhook-replace"))
    expect(screen.getByTestId("webhook-form")).toHaveAttribute("data-state", "replace")
    await u.click(screen.getByTestId("webhook-cancel"))
    expect(screen.queryByTestId("webhook-form")).not.toBeInTheDocument()

    await u.click(screen.getByTestId("webhook-replace"))
    await u.type(screen.getByLabelText("New webhook URL"), "https://hooks.example.com/other")
    await u.click(screen.getByTestId("webhook-save"))
    await waitFor(() => {
      expect(screen.getByTestId("webhook-status")).toBeInTheDocument()
    })

    await u.click(screen.getByTestId("webhook-remove"))
    const dialog = await screen.findByTestId("confirm-dialog")
    expect(dialog).toHaveTextContent("Remove the webhook?")
    await u.click(within(dialog).getByTestId("confirm-button"))
    await waitFor(() => {
      expect(screen.getByTestId("webhook-form")).toHaveAttribute("data-state", "unset")
    })
    expect(server.puts).toEqual([{ webhookUrl: "https://hooks.example.com/other" }, { webhookUrl: null }])
    expect(screen.getByTestId("notifications-test")).toBeDisabled()
  })

  it("sends a test and says it was sent", async () => {
    const server = notificationsServer({ browser: false, webhook: true })
    const u = renderCard()
    await u.click(await screen.findByTestId("notifications-test"))
    const result = await screen.findByTestId("notifications-test-result")
    expect(result).toHaveAttribute("data-state", "sent")
    expect(result).toHaveTextContent("Sent: the webhook took the test notification.")
    expect(server.tests()).toBe(1)
  })

  it("shows why the webhook did not take the test", async () => {
    notificationsServer(
      { browser: false, webhook: true },
      { test: () => json(502, { error: "the webhook answered 500 Internal Server Error", code: "upstream_failed" }) },
    )
    const u = renderCard()
    await u.click(await screen.findByTestId("notifications-test"))
    const result = await screen.findByTestId("notifications-test-result")
    expect(result).toHaveAttribute("data-state", "failed")
    expect(result).toHaveAttribute("role", "alert")
    expect(result).toHaveTextContent("The webhook answered 500 Internal Server Error")
  })

  it("reads the settings again when the webhook was removed elsewhere", async () => {
    const server = notificationsServer(
      { browser: false, webhook: true },
      { test: () => json(409, { error: "no webhook is set; set webhookUrl first", code: "webhook_not_set" }) },
    )
    const u = renderCard()
    await u.click(await screen.findByTestId("notifications-test"))
    expect(await screen.findByTestId("notifications-test-result")).toHaveTextContent("No webhook is set: set one first.")
    await waitFor(() => {
      expect(server.reads()).toBe(2)
    })
  })

  it("asks the browser once, when the user turns notifications on", async () => {
    const { requestPermission } = stubNotifications("default", { answer: "granted" })
    const server = notificationsServer()
    const u = renderCard()
    expect(await toggle()).toHaveAttribute("aria-checked", "false")
    expect(requestPermission).not.toHaveBeenCalled()
    expect(permissionLine()).toHaveAttribute("data-state", "default")

    await u.click(await toggle())
    await waitFor(() => {
      expect(permissionLine()).toHaveAttribute("data-state", "granted")
    })
    expect(await toggle()).toHaveAttribute("aria-checked", "true")
    expect(requestPermission).toHaveBeenCalledTimes(1)

    await u.click(await toggle())
    await waitFor(async () => {
      expect(await toggle()).toHaveAttribute("aria-checked", "false")
    })
    await u.click(await toggle())
    await waitFor(async () => {
      expect(await toggle()).toHaveAttribute("aria-checked", "true")
    })
    expect(server.puts).toEqual([{ browser: true }, { browser: false }, { browser: true }])
    expect(requestPermission).toHaveBeenCalledTimes(1)
  })

  it("offers to ask the browser when notifications are on but it was never asked", async () => {
    const { requestPermission } = stubNotifications("default", { answer: "denied" })
    notificationsServer({ browser: true, webhook: false })
    const u = renderCard()
    await u.click(await screen.findByTestId("notifications-allow"))
    expect(requestPermission).toHaveBeenCalledTimes(1)
    await waitFor(() => {
      expect(permissionLine()).toHaveAttribute("data-state", "denied")
    })
  })

  it("says when the browser blocks notifications and how to allow them again, without asking it", async () => {
    const { requestPermission } = stubNotifications("denied")
    const server = notificationsServer()
    const u = renderCard()
    await toggle()
    expect(permissionLine()).toHaveAttribute("data-state", "denied")
    expect(permissionLine()).toHaveTextContent("This browser blocks notifications from Craftastic")
    expect(permissionLine()).toHaveTextContent("messages inside the page instead")
    expect(permissionLine()).toHaveTextContent("allow Notifications, then reload the page")
    await u.click(await toggle())
    await waitFor(() => {
      expect(server.puts).toEqual([{ browser: true }])
    })
    expect(requestPermission).not.toHaveBeenCalled()
    expect(await toggle()).toHaveAccessibleDescription(/blocks notifications from Craftastic/)
  })

  it("says when the browser has no notifications at all", async () => {
    notificationsServer({ browser: true, webhook: false })
    renderCard()
    await toggle()
    expect(permissionLine()).toHaveAttribute("data-state", "unsupported")
    expect(permissionLine()).toHaveTextContent("This browser cannot show notifications")
  })

  it("shows the server's word when the change is refused", async () => {
    notificationsServer(undefined, { put: () => json(503, { error: "the server is busy", code: "busy" }) })
    const u = renderCard()
    await u.click(await toggle())
    expect(await screen.findByText("The server is busy")).toBeInTheDocument()
    expect(await toggle()).toHaveAttribute("aria-checked", "false")
  })
})
