// Notifications in a real browser against the real server and Docker: turn browser
// notifications on in the settings (the permission granted through the browser context), set
// a webhook on a local HTTP server (whose address never comes back) and send it a test, then
// have a fake Claude Code ask for permission and find the browser showed exactly one
// notification for it (the page's Notification is wrapped to record what it shows), which
// opens the session's terminal when clicked.
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import http from "node:http"
import path from "node:path"
import { after, afterEach, before, test } from "node:test"
import { fakeClaudeImage, isExpectedConsoleError, launchBrowser, shots, startServer } from "./harness.mjs"

/** In the webhook's address: a secret that must never come back from the server. */
const TOKEN = `s3cret${randomBytes(12).toString("hex")}`

let webhook
let server
let browser
let page
const problems = []
/** Every API answer's body, to check that the webhook's address never comes back. */
const bodies = []

/** A webhook on 127.0.0.1 that keeps the JSON of each POST and answers 200. */
async function startWebhook() {
  const got = []
  const listener = http.createServer((req, res) => {
    const chunks = []
    req.on("data", (c) => chunks.push(c))
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString()
      let body
      try {
        body = JSON.parse(raw)
      } catch {
        body = raw
      }
      got.push({ method: req.method, url: req.url, type: req.headers["content-type"], body })
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok")
    })
  })
  await new Promise((resolve) => listener.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${listener.address().port}/hook?token=${TOKEN}`,
    got,
    close: () =>
      new Promise((resolve) => {
        listener.close(resolve)
        listener.closeAllConnections()
      }),
  }
}

/** Runs in the page before its scripts: each notification shown is recorded. */
function recordNotifications() {
  const Shown = globalThis.Notification
  const recorded = []
  const objects = []
  class Recorded extends Shown {
    constructor(title, options = {}) {
      super(title, options)
      recorded.push({ title, body: options.body, tag: options.tag })
      objects.push(this)
    }
  }
  Object.defineProperty(globalThis, "__notifications", { value: recorded })
  Object.defineProperty(globalThis, "__notificationObjects", { value: objects })
  globalThis.Notification = Recorded
}

before(async () => {
  const image = fakeClaudeImage()
  webhook = await startWebhook()
  server = await startServer({ env: { SANDBOX_IMAGE: image, NOTIFY_LOCAL_WEBHOOKS: "true" } })
  browser = await launchBrowser()
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" })
  await context.grantPermissions(["notifications"], { origin: server.url })
  await context.addInitScript(recordNotifications)
  page = await context.newPage()
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
  page.on("console", (m) => {
    if (m.type() === "error" && !isExpectedConsoleError(m)) problems.push(`console error: ${m.text()}`)
  })
  page.on("response", async (r) => {
    const url = new URL(r.url())
    if (!url.pathname.startsWith("/api/") || url.pathname === "/api/events") return
    if (r.status() >= 400) problems.push(`${r.status()} from ${r.request().method()} ${url.pathname}`)
    bodies.push(await r.text().catch(() => ""))
  })
})

afterEach(async (t) => {
  // What the page showed when a step gave up.
  if (t.passed === false) await page?.screenshot({ path: path.join(shots, "notifications-failed.png"), fullPage: true })
})

after(async () => {
  await browser?.close()
  const leftovers = await server?.stop()
  await webhook?.close()
  assert.equal(leftovers, 0, "containers were left after the environment was deleted")
})

const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true })
const byTestId = (id) => page.locator(`[data-testid="${id}"]`)
const shown = () => page.evaluate(() => globalThis.__notifications)

/** Calls the API as the test's user; returns the JSON body, failing on any other status. */
async function call(method, route, { token, body, expect = 200 } = {}) {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  assert.equal(response.status, expect, `${method} ${route}: ${text}`)
  return text === "" ? undefined : JSON.parse(text)
}

/** Waits until `check` returns a truthy value; returns it. */
async function eventually(what, check, timeout = 20_000) {
  const started = Date.now()
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() - started > timeout) throw new Error(`${what} did not happen within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

test("browser notifications and a webhook, set in the settings, tell of an agent asking for permission", { timeout: 300_000 }, async () => {
  const email = "katherine@example.com"
  const password = "correct horse battery"
  await page.goto(`${server.url}/register`)
  await byTestId("register-email").fill(email)
  await byTestId("register-name").fill("Katherine Johnson")
  await byTestId("register-password").fill(password)
  await byTestId("register-submit").click()
  await byTestId("environments-empty").waitFor()
  await page.locator('[data-testid="live-state"][data-state="live"]').waitFor({ timeout: 15_000 })

  // ---- the settings -------------------------------------------------------------------
  await page.locator('[data-testid="settings-nav-link"]').click()
  const card = byTestId("notifications-card")
  await card.waitFor()
  const toggle = byTestId("notifications-browser-toggle")
  assert.equal(await toggle.getAttribute("aria-checked"), "false")
  assert.equal(await byTestId("notifications-permission").getAttribute("data-state"), "granted")
  await toggle.click()
  await page.locator('[data-testid="notifications-browser-toggle"][aria-checked="true"]:not([disabled])').waitFor()

  await byTestId("webhook-input").fill(webhook.url)
  await byTestId("webhook-save").click()
  await page.locator('[data-testid="webhook-status"][data-state="set"]').waitFor()
  assert.equal(await byTestId("webhook-input").count(), 0, "the webhook's field is gone once it is set")

  await byTestId("notifications-test").click()
  const result = page.locator('[data-testid="notifications-test-result"]')
  await result.waitFor()
  assert.equal(await result.getAttribute("data-state"), "sent", await result.innerText())
  assert.match(await result.innerText(), /Sent: the webhook took the test notification/)
  assert.equal(webhook.got.length, 1, "the webhook got the test")
  assert.equal(webhook.got[0].method, "POST")
  assert.match(webhook.got[0].type ?? "", /^application\/json/)
  assert.match(webhook.got[0].body.text, /Craftastic/)
  await shot("notifications-01-settings")

  await page.setViewportSize({ width: 390, height: 844 })
  const width = await page.evaluate(() => globalThis.document.documentElement.scrollWidth)
  assert.ok(width <= 390, `the settings fit a phone's width (${width} px)`)
  await shot("notifications-02-narrow")
  await page.setViewportSize({ width: 1280, height: 900 })

  await page.reload()
  await page.locator('[data-testid="notifications-browser-toggle"][aria-checked="true"]').waitFor()
  await page.locator('[data-testid="webhook-status"][data-state="set"]').waitFor()
  assert.ok(!(await page.content()).includes(TOKEN), "the page shows the webhook's address")

  // ---- a real notification ----------------------------------------------------------------
  const { accessToken: token } = await call("POST", "/api/auth/login", { body: { email, password } })
  assert.deepEqual(await call("GET", "/api/notifications/settings", { token }), { browser: true, webhook: true })
  const env = await call("POST", "/api/environments", { token, body: { name: "shop", repositoryUrl: server.repo }, expect: 201 })
  await eventually(
    "the environment running",
    async () => (await call("GET", `/api/environments/${env.id}`, { token })).status === "running",
    120_000,
  )
  const agent = await call("POST", "/api/agents", {
    token,
    body: { name: "claude", type: "claude-code", credential: { type: "api-key", value: "sk-e2e-not-a-key" } },
    expect: 201,
  })
  await byTestId("attention-nav-link").click()
  await byTestId("attention-page").waitFor()
  const session = await call("POST", "/api/sessions", {
    token,
    body: { environmentId: env.id, name: "asker", sessionType: "agent", agentId: agent.id },
    expect: 201,
  })
  const { workspaces } = await call("GET", `/api/environments/${env.id}`, { token })
  const container = workspaces.find((w) => w.branch === "main")?.containerId
  assert.ok(container, `the main branch's workspace has a container: ${JSON.stringify(workspaces)}`)
  const row = (state) =>
    page.locator(`[data-testid="attention-row"][data-session-id="${session.id}"]${state ? `[data-state="${state}"]` : ""}`)
  await row("idle").waitFor({ timeout: 60_000 })
  assert.deepEqual(await shown(), [], "nothing was shown before the agent asked")

  execFileSync("docker", ["exec", container, "tmux", "send-keys", "-t", `=${session.tmuxSessionName}:`, "permission", "Enter"])
  await row("permission").waitFor({ timeout: 20_000 })
  const [notification] = await eventually("a notification", async () => {
    const list = await shown()
    return list.length > 0 ? list : null
  })
  assert.deepEqual(notification, {
    title: "asker asks to approve an action",
    body: "Craftastic: asker in shop asks to approve an action: Claude needs your permission to use Bash",
    tag: session.id,
  })
  const sent = await eventually("the webhook's notice", () => webhook.got.find((g) => g.body.state === "permission"))
  assert.equal(sent.body.sessionId, session.id)
  // Exactly once: no second notification and no toast comes after it.
  await page.waitForTimeout(3_000)
  assert.equal((await shown()).length, 1, "the browser showed the notification once")
  assert.equal(await page.locator("[data-sonner-toast]").count(), 0, "a toast told it again")
  assert.equal(webhook.got.length, 2, "the webhook got the test and the notice")
  await shot("notifications-03-asked")

  // Clicking it opens the session's terminal.
  await page.evaluate(() => globalThis.__notificationObjects[0].dispatchEvent(new Event("click")))
  await page.waitForURL(new RegExp(`/environments/${env.id}/terminal/${session.id}$`))
  await page.locator('[data-testid="terminal-container"][data-active="true"]').waitFor()

  assert.ok(!bodies.some((b) => b.includes(TOKEN)), "an answer of the server carried the webhook's address")
  assert.deepEqual(problems, [], "the pages reported errors")
  await page.goto("about:blank")
  await call("DELETE", `/api/environments/${env.id}`, { token, expect: 204 })
})
