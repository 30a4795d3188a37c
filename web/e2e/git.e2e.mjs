// The git panel in a real browser against the real server and Docker: change a file in a
// session's terminal, find it in the panel, read its diff, commit it, see the commit in the
// history, push it, and find the commit in the remote repository on the host.
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import path from "node:path"
import { after, before, test } from "node:test"
import { expectOnScreen, isExpectedConsoleError, isExpectedFailure, launchBrowser, shots, startServer } from "./harness.mjs"

let server
let browser
let page
const problems = []

before(async () => {
  server = await startServer({ gitHttp: true })
  browser = await launchBrowser()
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
  page.on("console", (m) => {
    if (m.type() === "error" && !isExpectedConsoleError(m)) problems.push(`console error: ${m.text()}`)
  })
  // Names the request behind a "Failed to load resource" console error.
  page.on("response", (r) => {
    if (r.status() >= 400 && !isExpectedFailure(r.status(), r.url())) problems.push(`${r.status()} from ${r.request().method()} ${new URL(r.url()).pathname}`)
  })
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

const shot = (name, options = {}) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true, ...options })
const byTestId = (id) => page.locator(`[data-testid="${id}"]`)
const fileRow = (file) => page.locator(`[data-testid="git-file-row"][data-path="${file}"]`)

/** The subjects of the branch's commits in the remote repository on the host. */
function remoteLog(branch) {
  return execFileSync("git", ["-C", server.remote, "log", "--format=%s|%an", branch, "--"], {
    env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null" },
  })
    .toString()
    .trim()
    .split("\n")
}

test("change a file in the terminal, then diff, commit and push it from the git panel", { timeout: 300_000 }, async () => {
  await page.goto(`${server.url}/register`)
  await byTestId("register-email").fill("grace@example.com")
  await byTestId("register-name").fill("Grace Hopper")
  await byTestId("register-password").fill("correct horse battery")
  await byTestId("register-submit").click()
  await byTestId("environments-empty").waitFor()

  await byTestId("create-environment-button").click()
  await byTestId("environment-name-input").fill("shop")
  await byTestId("environment-repository-input").fill(server.repoUrl)
  await byTestId("create-environment-submit").click()
  await page.locator('[data-testid="environment-card"][data-status="running"]').waitFor({ timeout: 120_000 })
  await byTestId("environment-link").first().click()
  await byTestId("environment-page").waitFor()
  await byTestId("git-no-session").waitFor()

  // A session on a new branch: pushing it makes the branch in the remote.
  await byTestId("create-session-button").click()
  await byTestId("session-name-input").fill("web")
  await byTestId("session-branch-input").fill("greeting")
  await byTestId("create-session-submit").click()
  const row = page.locator('[data-testid="session-row"][data-session-name="web"]')
  await row.waitFor({ timeout: 60_000 })
  await page.locator('[data-testid="git-panel"][data-branch="greeting"] [data-testid="git-clean"]').waitFor({ timeout: 30_000 })
  await shot("git-01-clean")

  // Change the worktree in the terminal.
  await row.locator('[data-testid="open-terminal-link"]').click()
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 60_000 })
  await page.locator('[data-testid="terminal-container"][data-active="true"]').click()
  await page.keyboard.type("echo hi > hello.txt && printf 'more\\n' >> README.md && echo written-$((20+22))\n")
  await expectOnScreen(page, "written-42")

  // Back on the environment page the panel shows both files.
  await page.goBack()
  await byTestId("environment-page").waitFor()
  await fileRow("hello.txt").waitFor({ timeout: 15_000 })
  await fileRow("README.md").waitFor()
  assert.equal(await fileRow("hello.txt").getAttribute("data-index"), "untracked")
  assert.equal(await fileRow("README.md").getAttribute("data-worktree"), "modified")
  assert.equal(await fileRow("README.md").getAttribute("data-index"), "unmodified")
  await shot("git-02-changes")

  // The diff of the new file.
  await fileRow("hello.txt").locator('[data-testid="git-file-open"]').click()
  const diff = page.locator('[data-testid="git-diff"][data-path="hello.txt"][data-state="ready"]')
  await diff.waitFor({ timeout: 15_000 })
  assert.equal(await diff.getAttribute("data-staged"), "false")
  const added = await diff.locator('[data-kind="add"]').allTextContents()
  assert.ok(added.some((line) => line.includes("+hi")), `the diff shows the added line: ${added.join(" / ")}`)
  await shot("git-03-diff", { fullPage: false })
  // The other file's diff shows the appended line next to the unchanged one.
  await page.keyboard.press("Escape")
  await byTestId("git-diff-dialog").waitFor({ state: "detached" })
  await fileRow("README.md").locator('[data-testid="git-file-open"]').click()
  const readme = page.locator('[data-testid="git-diff"][data-path="README.md"][data-state="ready"]')
  await readme.waitFor({ timeout: 15_000 })
  assert.deepEqual(await readme.locator('[data-kind="context"]').allTextContents(), ["11 # shop"])
  assert.deepEqual(await readme.locator('[data-kind="add"]').allTextContents(), ["2+more"])
  await page.keyboard.press("Escape")
  await byTestId("git-diff-dialog").waitFor({ state: "detached" })

  // On a phone the panel goes under the sessions, and a diff fits the screen.
  await page.setViewportSize({ width: 390, height: 844 })
  await shot("git-04-narrow-changes")
  await fileRow("README.md").locator('[data-testid="git-file-open"]').click()
  await readme.waitFor({ timeout: 15_000 })
  await shot("git-05-narrow-diff", { fullPage: false })
  await page.keyboard.press("Escape")
  await byTestId("git-diff-dialog").waitFor({ state: "detached" })
  await page.setViewportSize({ width: 1280, height: 900 })

  // Commit everything.
  assert.equal(await byTestId("commit-button").isDisabled(), true, "Commit waits for a message")
  await byTestId("commit-message").fill("Say hi")
  await byTestId("commit-button").click()
  await page.locator('[data-testid="git-log-entry"]').first().filter({ hasText: "Say hi" }).waitFor({ timeout: 30_000 })
  await byTestId("git-clean").waitFor({ timeout: 15_000 })
  const entries = await byTestId("git-log-entry").allInnerTexts()
  assert.match(entries[0], /Say hi[\s\S]*Grace Hopper/)
  assert.match(entries[1], /first commit/)
  await shot("git-06-committed")

  // Push: the new branch goes to the remote with the commit on it.
  await byTestId("push-button").click()
  const pushed = page.locator('[data-testid="git-upstream"]', { hasText: "origin/greeting" })
  await pushed.or(byTestId("push-error")).first().waitFor({ timeout: 60_000 })
  if ((await byTestId("push-error").count()) > 0) {
    await shot("git-07-push-failed")
    assert.fail(`the push failed: ${await byTestId("push-error").innerText()}`)
  }
  await page.locator('[data-testid="push-button"][data-ahead="0"]').waitFor({ timeout: 15_000 })
  assert.deepEqual(remoteLog("greeting"), ["Say hi|Grace Hopper", "first commit|Fixture"])
  await shot("git-07-pushed")


  assert.deepEqual(problems, [], "the pages reported errors")
})
