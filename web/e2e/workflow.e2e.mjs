// The whole workflow in a real browser against the real server and Docker: register, create an
// environment from a fixture repository, open a session and type in its terminal, open a
// second session on another branch, reload and find the first terminal as it was, delete.
import assert from "node:assert/strict"
import path from "node:path"
import { after, before, test } from "node:test"
import { expectOnScreen, isExpectedConsoleError, launchBrowser, screenText, shots, startServer } from "./harness.mjs"

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

test("register, create an environment, use two terminals, reload, delete", { timeout: 300_000 }, async () => {
  await page.goto(server.url)
  await page.waitForURL(/\/signin/)
  await shot("01-sign-in")

  await page.goto(`${server.url}/register`)
  await byTestId("register-email").fill("ada@example.com")
  await byTestId("register-name").fill("Ada Lovelace")
  await byTestId("register-password").fill("correct horse battery")
  await shot("02-register")
  await byTestId("register-submit").click()
  await byTestId("environments-empty").waitFor()
  await shot("03-dashboard-empty")

  await byTestId("create-environment-button").click()
  await byTestId("environment-name-input").fill("shop")
  await byTestId("environment-repository-input").fill(server.repo)
  await shot("04-create-environment")
  await byTestId("create-environment-submit").click()
  const card = page.locator('[data-testid="environment-card"]')
  await card.waitFor()
  await page.locator('[data-testid="environment-card"][data-status="running"]').waitFor({ timeout: 120_000 })
  await shot("05-dashboard-running")

  await byTestId("environment-link").first().click()
  await byTestId("environment-page").waitFor()
  await shot("06-environment")

  // Its internet access: open, then only the forge and the registry.
  assert.equal(await byTestId("egress-policy-summary").innerText(), "Internet: open")
  await byTestId("egress-policy-edit").click()
  await byTestId("egress-mode-allowlist").click()
  await byTestId("egress-hosts-input").fill("github.com\nhttps://registry.npmjs.org")
  await byTestId("egress-policy-save").click()
  await page.getByText("Not a host name: write registry.npmjs.org.").waitFor()
  await shot("06a-egress-policy")
  await byTestId("egress-hosts-input").fill("github.com\nregistry.npmjs.org")
  await byTestId("egress-policy-save").click()
  await byTestId("egress-policy-dialog").waitFor({ state: "detached" })
  assert.equal(await byTestId("egress-policy-summary").innerText(), "Internet: 2 hosts")

  // A session on the default branch, then its terminal.
  await byTestId("create-session-button").click()
  await byTestId("session-name-input").fill("web")
  await shot("07-create-session")
  await byTestId("create-session-submit").click()
  await page.locator('[data-testid="session-row"][data-session-name="web"]').waitFor({ timeout: 60_000 })
  await page.locator('[data-testid="session-row"][data-session-name="web"] [data-testid="open-terminal-link"]').click()
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 60_000 })
  await page.locator('[data-testid="terminal-container"][data-active="true"]').click()
  await page.keyboard.type("echo hello\n")
  const screen = await expectOnScreen(page, "\nhello")
  assert.ok(!screen.includes("\ufffd"))
  await shot("08-terminal")
  const terminalUrl = page.url()

  // A second session, on another branch.
  await page.goBack()
  await byTestId("environment-page").waitFor()
  await byTestId("create-session-button").click()
  await byTestId("session-name-input").fill("feature-work")
  await byTestId("session-branch-input").fill("feature")
  await byTestId("create-session-submit").click()
  const second = page.locator('[data-testid="session-row"][data-session-name="feature-work"]')
  await second.waitFor({ timeout: 60_000 })
  await shot("09-two-sessions")
  await second.locator('[data-testid="open-terminal-link"]').click()
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 60_000 })
  await page.locator('[data-testid="terminal-container"][data-active="true"]').click()
  await page.keyboard.type("git branch --show-current\n")
  await expectOnScreen(page, "\nfeature")
  await shot("10-second-terminal")

  // After a reload the first terminal shows what it showed before.
  await page.goto(terminalUrl)
  await page.reload()
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 60_000 })
  await expectOnScreen(page, "echo hello")
  const again = await screenText(page)
  assert.match(again, /\nhello/)
  await shot("11-terminal-after-reload")

  // Delete the environment from its page.
  await page.goto(server.url)
  await byTestId("environment-link").first().click()
  await byTestId("environment-page").waitFor()
  await byTestId("delete-environment-button").click()
  await byTestId("confirm-dialog").waitFor()
  await shot("12-confirm-delete")
  await byTestId("confirm-button").click()
  await byTestId("environments-empty").waitFor({ timeout: 120_000 })
  await shot("13-dashboard-after-delete")

  assert.deepEqual(problems, [], "the pages reported errors")
})
