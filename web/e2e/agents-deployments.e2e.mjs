// Agents and deployments in a real browser against the real server, Docker and a fake
// Coolify: create an agent with an API key on the agents page (the key never comes back),
// start an agent session with it and find the agent in its terminal, then deploy the
// environment's branch from the deployments panel and watch it reach `finished`.
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import path from "node:path"
import { after, afterEach, before, test } from "node:test"
import { expectOnScreen, launchBrowser, screenText, shots, startFakeCoolify, startServer } from "./harness.mjs"

const APP = "shopapp0e2e0001"
/** A key of the shape Anthropic's have; it is never valid, and must never come back. */
const KEY = `sk-ant-api03-e2e${randomBytes(16).toString("hex")}`

let coolify
let server
let browser
let page
const problems = []
/** Failures the test provokes on purpose: "502 from POST /api/deployment/deploy". */
const expected = new Set()
/** Every API answer's body, to check that the key never comes back. */
const bodies = []

before(async () => {
  coolify = await startFakeCoolify({ apps: { [APP]: "main" } })
  server = await startServer({ env: coolify.env() })
  browser = await launchBrowser()
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: "light" })
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(`console error: ${m.text()}`)
  })
  page.on("response", async (r) => {
    const url = new URL(r.url())
    if (!url.pathname.startsWith("/api/")) return
    const what = `${r.status()} from ${r.request().method()} ${url.pathname}`
    if (r.status() >= 400 && !expected.has(what)) problems.push(what)
    bodies.push(await r.text().catch(() => ""))
  })
})

afterEach(async (t) => {
  // What the page showed when a step gave up.
  if (t.passed === false) await page?.screenshot({ path: path.join(shots, "agents-deployments-failed.png"), fullPage: true })
})

after(async () => {
  await browser?.close()
  await server?.stop()
  await coolify?.close()
})

const shot = (name, options = {}) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true, ...options })
const byTestId = (id) => page.locator(`[data-testid="${id}"]`)
/** Closes the toasts, so that they cover nothing in a screenshot. */
async function dismissToasts() {
  for (const close of await page.locator("[data-sonner-toast] [data-close-button]").all()) {
    await close.click({ timeout: 1_000 }).catch(() => {})
  }
  await page.locator("[data-sonner-toast]").first().waitFor({ state: "detached", timeout: 5_000 }).catch(() => {})
}

test("an agent with an API key, an agent session, and a deployment to Coolify", { timeout: 300_000 }, async () => {
  await page.goto(`${server.url}/register`)
  await byTestId("register-email").fill("margaret@example.com")
  await byTestId("register-name").fill("Margaret Hamilton")
  await byTestId("register-password").fill("correct horse battery")
  await byTestId("register-submit").click()
  await byTestId("environments-empty").waitFor()

  // ---- the agents page ----------------------------------------------------------------
  await byTestId("agents-nav-link").click()
  await byTestId("agents-empty").waitFor()
  await shot("agents-01-empty")
  await byTestId("create-agent-button").click()
  await byTestId("agent-name-input").fill("claude")
  await byTestId("agent-type-select").click()
  await page.locator('[data-testid="agent-type-option"][data-type="claude-code"]').click()
  await byTestId("agent-credential-kind-api-key").click()
  const keyInput = byTestId("agent-credential-input")
  assert.equal(await keyInput.getAttribute("type"), "password")
  assert.equal(await keyInput.getAttribute("autocomplete"), "off")
  await keyInput.fill(KEY)
  await shot("agents-02-create", { fullPage: false })
  await byTestId("agent-save-button").click()
  const agentRow = page.locator('[data-testid="agent-row"][data-name="claude"]')
  await agentRow.waitFor()
  assert.equal(await agentRow.getAttribute("data-type"), "claude-code")
  assert.equal(await agentRow.getAttribute("data-credential"), "api-key")
  assert.equal(await agentRow.locator('[data-testid="agent-type"]').innerText(), "Claude Code")
  assert.match(await agentRow.locator('[data-testid="agent-credential-status"]').innerText(), /API key set/)
  await byTestId("agent-dialog").waitFor({ state: "detached" })
  // A reload reads the agent back from the server: still only "set".
  await page.reload()
  await agentRow.waitFor()
  assert.equal(await agentRow.getAttribute("data-credential"), "api-key")
  assert.ok(!(await page.content()).includes(KEY), "the key is not on the page")
  await shot("agents-03-list")

  // ---- an environment and an agent session -------------------------------------------
  await byTestId("environments-nav-link").click()
  await byTestId("create-environment-button").click()
  await byTestId("environment-name-input").fill("shop")
  await byTestId("environment-repository-input").fill(server.repo)
  await byTestId("create-environment-submit").click()
  await page.locator('[data-testid="environment-card"][data-status="running"]').waitFor({ timeout: 120_000 })
  await byTestId("environment-link").first().click()
  await byTestId("environment-page").waitFor()

  await byTestId("create-session-button").click()
  await byTestId("session-type-agent").click()
  await page.locator('[data-testid="session-agent-select"]', { hasText: "claude" }).waitFor()
  await byTestId("session-name-input").fill("pair")
  await shot("agents-04-create-agent-session", { fullPage: false })
  await byTestId("create-session-submit").click()
  const sessionRow = page.locator('[data-testid="session-row"][data-session-name="pair"]')
  await sessionRow.waitFor({ timeout: 60_000 })
  assert.equal(await sessionRow.getAttribute("data-session-type"), "agent")
  await sessionRow.locator('[data-testid="session-agent-badge"][data-agent-name="claude"]').waitFor()

  // The terminal runs Claude Code with the key (or, in an image without it, says so and
  // opens a shell), never a plain shell without a word.
  await sessionRow.locator('[data-testid="open-terminal-link"]').click()
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 60_000 })
  const started = Date.now()
  let screen = ""
  while (Date.now() - started < 60_000) {
    screen = await screenText(page).catch(() => "")
    if (/Claude Code|is not installed in this workspace image|craftastic: claude exited/.test(screen)) break
    await page.waitForTimeout(250)
  }
  await shot("agents-05-agent-terminal", { fullPage: false })
  assert.match(screen, /Claude Code|is not installed in this workspace image|craftastic: claude exited/, `the terminal showed:\n${screen}`)
  assert.ok(!screen.includes(KEY), "the key is not printed on the terminal")
  if (/is not installed|craftastic: claude exited/.test(screen)) {
    // Once the CLI has exited (here it cannot reach Anthropic), or without it, the session's
    // shell has the key in the variable Claude Code reads.
    await page.locator('[data-testid="terminal-container"][data-active="true"]').click()
    await page.keyboard.type('echo "key-length-${#ANTHROPIC_API_KEY}"\n')
    await expectOnScreen(page, `key-length-${KEY.length}`)
  }

  // ---- a deployment -------------------------------------------------------------------
  await page.goBack()
  await byTestId("environment-page").waitFor()
  const panel = byTestId("deployments-panel")
  await panel.scrollIntoViewIfNeeded()
  await byTestId("deployments-empty").waitFor()
  // Nothing is bound yet; Margaret, the first user, is an admin and binds the application.
  await byTestId("deploy-no-bindings").waitFor()
  assert.equal(await byTestId("deploy-button").isDisabled(), true)
  await byTestId("deployment-binding-input").fill(APP)
  await byTestId("deployment-binding-add").click()
  await page.locator(`[data-testid="deployment-binding"][data-app-id="${APP}"]`).waitFor()
  assert.equal(await byTestId("deploy-app-id").inputValue(), APP)
  await dismissToasts()
  await panel.screenshot({ path: path.join(shots, "deploy-00-bound.png") })
  await byTestId("deploy-button").click()
  const deployment = byTestId("deployment-row").first()
  await deployment.waitFor({ timeout: 30_000 })
  const seen = new Set()
  let shotInProgress = false
  // Live: the row moves on without a reload.
  const until = Date.now() + 60_000
  while (Date.now() < until) {
    const status = await deployment.getAttribute("data-status")
    seen.add(status)
    if (status === "finished" || status === "failed" || status === "cancelled") break
    if (status === "in_progress" && !shotInProgress) {
      shotInProgress = true
      await dismissToasts()
      await panel.screenshot({ path: path.join(shots, "deploy-01-in-progress.png") })
    }
    await page.waitForTimeout(200)
  }
  assert.equal(await deployment.getAttribute("data-status"), "finished", `statuses seen: ${[...seen].join(", ")}`)
  assert.ok(seen.has("queued") || seen.has("in_progress"), `it was under way first: ${[...seen].join(", ")}`)
  const coolifyId = await deployment.getAttribute("data-coolify-id")
  assert.match(coolifyId, /^dep[0-9a-f]+$/)
  assert.equal(await deployment.locator('[data-testid="deployment-app-id"]').innerText(), APP)
  assert.equal(await deployment.locator('[data-testid="deployment-branch"]').innerText(), "main")
  await dismissToasts()
  await panel.screenshot({ path: path.join(shots, "deploy-02-finished.png") })
  await shot("deploy-03-environment")

  // Coolify was asked as its API documents, always with the token.
  assert.ok(coolify.calls.every((c) => c.authorized), "every call to Coolify carried the token")
  assert.ok(coolify.calls.some((c) => c.method === "GET" && c.path === `/api/v1/applications/${APP}`))
  assert.ok(coolify.calls.some((c) => c.path === "/api/v1/deploy" && c.query.uuid === APP && !("force" in c.query)))
  assert.ok(coolify.calls.some((c) => c.path === `/api/v1/deployments/${coolifyId}`))

  // The application is remembered for this environment; another branch switches Coolify to it.
  await page.reload()
  await byTestId("deployment-row").first().waitFor()
  assert.equal(await byTestId("deploy-app-id").inputValue(), APP)
  await byTestId("deploy-branch").fill("feature")
  await byTestId("deploy-button").click()
  await page.locator('[data-testid="deployment-row"]').nth(1).waitFor({ timeout: 30_000 })
  const second = byTestId("deployment-row").first()
  assert.equal(await second.locator('[data-testid="deployment-branch"]').innerText(), "feature")
  assert.equal(await second.locator('[data-testid="deployment-previous-branch"]').innerText(), "main")
  await page.locator('[data-testid="deployment-row"][data-status="finished"]').nth(1).waitFor({ timeout: 60_000 })
  assert.equal(coolify.branchOf(APP), "feature")

  // An application Coolify does not know: its answer, through the server's 502.
  expected.add("502 from POST /api/deployment/deploy")
  await byTestId("deployment-binding-input").fill("nosuchapp")
  await byTestId("deployment-binding-add").click()
  await page.locator('[data-testid="deployment-binding"][data-app-id="nosuchapp"]').waitFor()
  await byTestId("deploy-app-id").selectOption("nosuchapp")
  await byTestId("deploy-branch").fill("")
  await byTestId("deploy-button").click()
  const error = byTestId("deploy-error")
  await error.waitFor({ timeout: 30_000 })
  assert.match(await error.innerText(), /Application not found\./)
  await dismissToasts()
  await panel.screenshot({ path: path.join(shots, "deploy-04-coolify-refused.png") })

  // On a phone: the agents page.
  await page.setViewportSize({ width: 390, height: 844 })
  await byTestId("agents-nav-link").click()
  await agentRow.waitFor()
  await dismissToasts()
  const header = await page.evaluate(() => globalThis.document.documentElement.scrollWidth)
  assert.ok(header <= 390, `the page fits a phone's width (${header} px)`)
  await shot("agents-06-narrow")

  assert.ok(!bodies.some((b) => b.includes(KEY)), "no answer of the server carried the key")
  assert.deepEqual(problems, [], "the pages reported errors")
})

test("without Coolify configured the panel says so and cannot deploy", { timeout: 180_000 }, async () => {
  const bare = await startServer()
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" })
  const other = await context.newPage()
  try {
    const el = (id) => other.locator(`[data-testid="${id}"]`)
    await other.goto(`${bare.url}/register`)
    await el("register-email").fill("ada@example.com")
    await el("register-name").fill("Ada Lovelace")
    await el("register-password").fill("correct horse battery")
    await el("register-submit").click()
    await el("create-environment-button").click()
    await el("environment-name-input").fill("shop")
    await el("environment-repository-input").fill(bare.repo)
    await el("create-environment-submit").click()
    await el("environment-link").first().click()
    const notice = el("deploy-unavailable")
    await notice.waitFor({ timeout: 30_000 })
    assert.match(await notice.innerText(), /^Deployments are not configured on this server.*COOLIFY_API_URL/)
    assert.equal(await el("deploy-button").isDisabled(), true)
    assert.equal(await el("deployment-bindings").count(), 0, "no binding while deployments are off")
    await el("deployments-panel").screenshot({ path: path.join(shots, "deploy-05-not-configured.png") })
  } finally {
    await context.close()
    await bare.stop()
  }
})
