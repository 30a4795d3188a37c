// What sessions are doing, pushed to the browser: the attention view lists a terminal session
// made through the API, shows it working while a command runs in it (typed into its tmux
// session from outside the browser) and idle once the command is interrupted, all without a
// reload; the environment page and the terminal's tab show the same state.
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import path from "node:path"
import { after, before, test } from "node:test"
import { isExpectedConsoleError, launchBrowser, shots, startServer } from "./harness.mjs"

let server
let browser
let page
const problems = []

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
  page.on("console", (m) => {
    if (m.type() === "error" && !isExpectedConsoleError(m)) problems.push(`console error: ${m.text()}`)
  })
})

after(async () => {
  await browser?.close()
  const leftovers = await server?.stop()
  assert.equal(leftovers, 0, "containers were left after the environment was deleted")
})

const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true })
const byTestId = (id) => page.locator(`[data-testid="${id}"]`)

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

/** Types keys into a session's tmux session from outside, as another viewer would. */
function typeKeys(container, session, ...keys) {
  execFileSync("docker", ["exec", container, "tmux", "send-keys", "-t", `=${session.tmuxSessionName}:`, ...keys])
}

test("the attention view follows a terminal's command as it runs and ends, without a reload", { timeout: 300_000 }, async () => {
  const email = "grace@example.com"
  const password = "correct horse battery"
  await page.goto(`${server.url}/register`)
  await byTestId("register-email").fill(email)
  await byTestId("register-name").fill("Grace Hopper")
  await byTestId("register-password").fill(password)
  await byTestId("register-submit").click()
  await byTestId("environments-empty").waitFor()
  await page.locator('[data-testid="live-state"][data-state="live"]').waitFor({ timeout: 15_000 })
  assert.equal(await byTestId("live-state").innerText(), "Live")

  const { accessToken: token } = await call("POST", "/api/auth/login", { body: { email, password } })
  const env = await call("POST", "/api/environments", { token, body: { name: "shop", repositoryUrl: server.repo }, expect: 201 })
  // The dashboard follows the environment to running without polling for it.
  await page.locator('[data-testid="environment-card"][data-status="running"]').waitFor({ timeout: 120_000 })

  await byTestId("attention-nav-link").click()
  await byTestId("attention-empty").waitFor()
  assert.equal(await byTestId("attention-count").getAttribute("data-count"), "0")
  await shot("attention-01-empty")
  // Any reload from here on would lose this.
  await page.evaluate(() => {
    globalThis.__sameDocument = true
  })

  const session = await call("POST", "/api/sessions", {
    token,
    body: { environmentId: env.id, name: "sleeper" },
    expect: 201,
  })
  const { workspaces } = await call("GET", `/api/environments/${env.id}`, { token })
  const container = workspaces.find((w) => w.branch === "main")?.containerId
  assert.ok(container, `the main branch's workspace has a container: ${JSON.stringify(workspaces)}`)

  const row = (state) =>
    page.locator(`[data-testid="attention-row"][data-session-id="${session.id}"]${state ? `[data-state="${state}"]` : ""}`)
  await row("idle").waitFor({ timeout: 30_000 })
  assert.match(await row().innerText(), /sleeper[\s\S]*shop[\s\S]*main/)

  typeKeys(container, session, "sleep 30", "Enter")
  await row("working").waitFor({ timeout: 20_000 })
  assert.equal(await row().locator('[data-testid="attention-detail"]').innerText(), "sleep")
  assert.match(await row().locator('[data-testid="attention-since"]').innerText(), /^for \d+ s$/)
  await shot("attention-02-working")

  typeKeys(container, session, "C-c")
  await row("idle").waitFor({ timeout: 20_000 })
  await shot("attention-03-idle")
  await page.setViewportSize({ width: 390, height: 844 })
  const width = await page.evaluate(() => globalThis.document.documentElement.scrollWidth)
  assert.ok(width <= 390, `the attention view fits a phone's width (${width} px)`)
  await shot("attention-03a-narrow")
  await page.setViewportSize({ width: 1280, height: 800 })
  assert.equal(await page.evaluate(() => globalThis.__sameDocument), true, "the page was reloaded")

  // The environment page's session row and the terminal's tab say the same, live.
  await row().locator('[data-testid="attention-open"]').click()
  await page.waitForURL(new RegExp(`/environments/${env.id}/terminal/${session.id}$`))
  const tab = page.locator(`[data-testid="terminal-tab"][data-session-id="${session.id}"] [data-testid="activity-badge"]`)
  await tab.waitFor()
  typeKeys(container, session, "sleep 30", "Enter")
  await page
    .locator(`[data-testid="terminal-tab"][data-session-id="${session.id}"] [data-testid="activity-badge"][data-state="working"]`)
    .waitFor({ timeout: 20_000 })
  assert.equal(await tab.getAttribute("data-detail"), "sleep")
  await shot("attention-04-terminal-tab")

  await page.goto(`${server.url}/environments/${env.id}`)
  const badge = page.locator(
    `[data-testid="session-row"][data-session-id="${session.id}"] [data-testid="activity-badge"]`,
  )
  await badge.waitFor()
  typeKeys(container, session, "C-c")
  await page
    .locator(`[data-testid="session-row"][data-session-id="${session.id}"] [data-testid="activity-badge"][data-state="idle"]`)
    .waitFor({ timeout: 20_000 })
  await shot("attention-05-session-row")

  assert.deepEqual(problems, [], "the pages reported errors")
  await page.goto("about:blank")
  await call("DELETE", `/api/environments/${env.id}`, { token, expect: 204 })
})
