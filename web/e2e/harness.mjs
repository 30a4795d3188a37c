// What the end-to-end tests run against: the real craftastic binary (serving the built UI)
// with its own data dir, the real Docker engine, a git fixture repository it may clone by
// path, and headless Chromium through playwright-core.
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
/** Screenshots go here: test output, never the repository. */
export const shots = path.join(root, "target", "e2e")

function git(cwd, ...args) {
  execFileSync("git", args, {
    cwd,
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "Fixture",
      GIT_AUTHOR_EMAIL: "fixture@example.com",
      GIT_COMMITTER_NAME: "Fixture",
      GIT_COMMITTER_EMAIL: "fixture@example.com",
    },
    stdio: "pipe",
  })
}

/** A repository with `main` and a branch `feature`, in a folder the server may clone from. */
function fixtureRepo(roots) {
  const repo = path.join(roots, "shop")
  mkdirSync(repo)
  git(repo, "init", "-q", "--initial-branch=main")
  writeFileSync(path.join(repo, "README.md"), "# shop\n")
  git(repo, "add", ".")
  git(repo, "commit", "-q", "-m", "first commit")
  git(repo, "branch", "feature")
  return repo
}

/** Starts the server; resolves once it prints its URL. */
export async function startServer() {
  const bin = process.env.CRAFTASTIC_BIN ?? path.join(root, "target", "debug", "craftastic")
  const work = mkdtempSync(path.join(tmpdir(), "craftastic-e2e-"))
  const roots = path.join(work, "roots")
  mkdirSync(roots)
  const repo = fixtureRepo(roots)
  const dataDir = path.join(work, "data")
  const log = []
  const env = {
    ...process.env,
    CRAFTASTIC_DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: "0",
    CRAFTASTIC_LOCAL_REPO_ROOTS: roots,
    LOG_LEVEL: "warn",
  }
  for (const name of ["DATABASE_URL", "JWT_SECRET", "SERVER_ENCRYPTION_KEY", "CORS_ORIGIN"]) delete env[name]
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", "pipe", "pipe"] })
  child.stderr.on("data", (d) => log.push(d.toString()))
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${log.join("")}`)), 60_000)
    child.stdout.on("data", (d) => {
      const m = /Craftastic is running at (\S+)/.exec(d.toString())
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.on("exit", (code) => reject(new Error(`the server exited (${code}):\n${log.join("")}`)))
  })
  return {
    url,
    repo,
    log,
    async stop() {
      const exited = new Promise((resolve) => child.on("exit", resolve))
      child.kill("SIGTERM")
      await exited
      const instance = readFileSync(path.join(dataDir, "instance-id"), "utf8").trim()
      const left = execFileSync("docker", ["ps", "-aq", "--filter", `label=craftastic.instance=${instance}`])
        .toString()
        .split("\n")
        .filter(Boolean)
      if (left.length > 0) execFileSync("docker", ["rm", "-f", "-v", ...left], { stdio: "ignore" })
      rmSync(work, { recursive: true, force: true })
      return left.length
    },
  }
}

export async function launchBrowser() {
  mkdirSync(shots, { recursive: true })
  // WebGL is switched off so that xterm.js falls back to its DOM renderer, whose rows the
  // tests can read (and the fallback is exercised).
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-webgl", "--disable-3d-apis"],
  })
}

/** The text on the screen of the terminal that is shown. */
export async function screenText(page) {
  return page
    .locator('[data-testid="terminal-container"][data-active="true"] .xterm-rows')
    .innerText()
}

/** Waits until the shown terminal's screen contains `needle`. */
export async function expectOnScreen(page, needle, timeout = 20_000) {
  const started = Date.now()
  for (;;) {
    const text = await screenText(page).catch(() => "")
    if (text.includes(needle)) return text
    if (Date.now() - started > timeout) {
      throw new Error(`the terminal never showed ${JSON.stringify(needle)}; it showed:\n${text}`)
    }
    await page.waitForTimeout(100)
  }
}
