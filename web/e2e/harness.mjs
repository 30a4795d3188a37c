// What the end-to-end tests run against: the real craftastic binary (serving the built UI)
// with its own data dir, the real Docker engine, a git fixture repository it may clone by
// path (or, for pushing, over HTTP), and headless Chromium through playwright-core.
import { execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import http from "node:http"
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

/**
 * The address containers reach the host at: the host's address on Docker's default bridge.
 * That is the bridge's gateway when the engine lists one; an engine that made the bridge
 * itself may list only its subnet (Docker 20.10 does), so the address is then read off the
 * bridge's interface.
 */
function bridgeAddress() {
  const inspect = (format) =>
    execFileSync("docker", ["network", "inspect", "bridge", "--format", format]).toString().trim()
  const gateway = inspect("{{range .IPAM.Config}}{{.Gateway}}{{end}}")
  if (gateway) return gateway
  const name = inspect('{{index .Options "com.docker.network.bridge.name"}}') || "docker0"
  const shown = execFileSync("ip", ["-4", "-o", "addr", "show", "dev", name]).toString()
  const address = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(shown)?.[1]
  if (!address) {
    throw new Error(`Docker's bridge network lists no gateway and its interface ${name} has no IPv4 address`)
  }
  return address
}

/** Turns a CGI answer (headers, a blank line, the body) into the HTTP response. */
function sendCgi(raw, res) {
  let at = raw.indexOf("\r\n\r\n")
  let gap = 4
  if (at < 0) {
    at = raw.indexOf("\n\n")
    gap = 2
  }
  if (at < 0) {
    res.writeHead(502).end("git http-backend gave no headers")
    return
  }
  let status = 200
  const headers = {}
  for (const line of raw.subarray(0, at).toString().split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon < 0) continue
    const name = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 502
    else headers[name] = value
  }
  res.writeHead(status, headers).end(raw.subarray(at + gap))
}

/**
 * Serves the bare repositories under `dir` over git's smart HTTP (fetch and push), the way
 * a hosted remote is reached, at the address containers reach the host at: a workspace
 * pushes from inside its container, where the host's paths do not exist.
 */
async function serveGit(dir) {
  const address = bridgeAddress()
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on("data", (c) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks)
      const url = new URL(req.url, "http://localhost")
      const child = spawn("git", ["http-backend"], {
        env: {
          PATH: process.env.PATH,
          GIT_PROJECT_ROOT: dir,
          GIT_HTTP_EXPORT_ALL: "1",
          GIT_CONFIG_GLOBAL: "/dev/null",
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_CONFIG_COUNT: "1",
          GIT_CONFIG_KEY_0: "http.receivepack",
          GIT_CONFIG_VALUE_0: "true",
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.slice(1),
          REQUEST_METHOD: req.method,
          CONTENT_TYPE: req.headers["content-type"] ?? "",
          CONTENT_LENGTH: String(body.length),
          HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
          GIT_PROTOCOL: req.headers["git-protocol"] ?? "",
          REMOTE_ADDR: req.socket.remoteAddress ?? "",
          REMOTE_USER: "",
        },
        stdio: ["pipe", "pipe", "pipe"],
      })
      const out = []
      child.stdout.on("data", (c) => out.push(c))
      child.stdin.on("error", () => {})
      child.stdin.end(body)
      child.on("close", () => sendCgi(Buffer.concat(out), res))
    })
  })
  await new Promise((resolve) => server.listen(0, "0.0.0.0", resolve))
  return {
    url: `http://${address}:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve)
        server.closeAllConnections()
      }),
  }
}

/**
 * A fake Coolify that answers as Coolify's API v1 documents it, for the calls Craftastic's
 * client makes (crates/coolify):
 *
 * - `GET /api/v1/applications/{uuid}` → the application (`{uuid, name, git_branch, …}`), 404
 *   `Application not found.`;
 * - `PATCH /api/v1/applications/{uuid}` with `{"git_branch": …}` → `{uuid}`;
 * - `GET` (or `POST`) `/api/v1/deploy?uuid=…[&force=…]` →
 *   `{deployments: [{message, resource_uuid, deployment_uuid}]}`, 404 `No resources found.`;
 * - `GET /api/v1/deployments/{uuid}` → `{deployment_uuid, status, …}`, `queued` for its
 *   first `queuedMs`, then `in_progress` until `finishedMs`, then `finished`.
 *
 * Every route wants `Authorization: Bearer <token>` and answers 401 `Unauthenticated.`
 * otherwise; Coolify's errors are `{message}`. It listens on 127.0.0.1, where the server
 * under test (on the host) calls it. `apps`: uuid → the branch it builds.
 */
export async function startFakeCoolify({ apps = {}, queuedMs = 1_500, finishedMs = 4_000 } = {}) {
  const token = `e2e-${randomBytes(12).toString("hex")}`
  const applications = new Map(
    Object.entries(apps).map(([uuid, branch]) => [uuid, { uuid, name: `app-${uuid}`, git_branch: branch }]),
  )
  const deployments = new Map()
  const calls = []
  const send = (res, status, body) => {
    res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body))
  }
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on("data", (c) => chunks.push(c))
    req.on("end", () => {
      const url = new URL(req.url, "http://coolify.invalid")
      const raw = Buffer.concat(chunks).toString()
      let body
      try {
        body = raw === "" ? undefined : JSON.parse(raw)
      } catch {
        body = raw
      }
      const authorized = req.headers.authorization === `Bearer ${token}`
      calls.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body, authorized })
      if (!authorized) return send(res, 401, { message: "Unauthenticated." })

      const app = /^\/api\/v1\/applications\/([^/]+)$/.exec(url.pathname)
      if (app) {
        const found = applications.get(decodeURIComponent(app[1]))
        if (!found) return send(res, 404, { message: "Application not found." })
        if (req.method === "GET") {
          return send(res, 200, { id: 1, ...found, git_repository: "acme/shop", build_pack: "nixpacks", status: "running:healthy" })
        }
        if (req.method === "PATCH") {
          if (typeof body?.git_branch !== "string") {
            return send(res, 422, { message: "Validation failed.", errors: { git_branch: ["The git branch field must be a string."] } })
          }
          found.git_branch = body.git_branch
          return send(res, 200, { uuid: found.uuid })
        }
      }
      if (url.pathname === "/api/v1/deploy" && (req.method === "GET" || req.method === "POST")) {
        const uuids = (url.searchParams.get("uuid") ?? "").split(",").filter(Boolean)
        if (uuids.length === 0) return send(res, 400, { message: "You must provide uuid or tag." })
        const queued = []
        for (const uuid of uuids) {
          const found = applications.get(uuid)
          if (!found) continue
          const deploymentUuid = `dep${randomBytes(10).toString("hex")}`
          deployments.set(deploymentUuid, {
            app: found,
            branch: found.git_branch,
            force: url.searchParams.has("force"),
            created: Date.now(),
          })
          queued.push({
            message: `Application ${found.name} deployment queued.`,
            resource_uuid: uuid,
            deployment_uuid: deploymentUuid,
          })
        }
        if (queued.length === 0) return send(res, 404, { message: "No resources found." })
        return send(res, 200, { deployments: queued })
      }
      const dep = /^\/api\/v1\/deployments\/([^/]+)$/.exec(url.pathname)
      if (dep && req.method === "GET") {
        const uuid = decodeURIComponent(dep[1])
        const found = deployments.get(uuid)
        if (!found) return send(res, 404, { message: "Deployment not found." })
        const age = Date.now() - found.created
        const status = age < queuedMs ? "queued" : age < finishedMs ? "in_progress" : "finished"
        return send(res, 200, {
          id: 1,
          deployment_uuid: uuid,
          status,
          force_rebuild: found.force,
          commit: "9fceb02d0ae598e95dc970b74767f19372d61af8",
          commit_message: `Deploy ${found.branch}`,
          application_name: found.app.name,
          server_name: "localhost",
          deployment_url: `/project/p1/environment/e1/application/${found.app.uuid}/deployment/${uuid}`,
          created_at: new Date(found.created).toISOString(),
        })
      }
      return send(res, 404, { message: "Not found." })
    })
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    token,
    calls,
    /** The branch the application builds now. */
    branchOf: (uuid) => applications.get(uuid)?.git_branch,
    /** What to start the server with so that it deploys here. */
    env() {
      return { COOLIFY_API_URL: this.url, COOLIFY_API_TOKEN: token }
    },
    close: () =>
      new Promise((resolve) => {
        server.close(resolve)
        server.closeAllConnections()
      }),
  }
}

/**
 * A fake `claude`: on each cue typed into its terminal it calls `craftastic-hook` the way the
 * hooks Craftastic configures for Claude Code do, with the JSON Claude Code gives them (the
 * cues of the one in crates/testkit/src/activity.rs that the server's tests use).
 */
const FAKE_CLAUDE = `#!/bin/sh
echo "fake-claude: ready"
while read -r cue; do
    case $cue in
    prompt) echo '{"hook_event_name":"UserPromptSubmit","prompt":"hello"}' | craftastic-hook claude UserPromptSubmit ;;
    permission) echo '{"hook_event_name":"Notification","notification_type":"permission_prompt","message":"Claude needs your permission to use Bash"}' | craftastic-hook claude Notification ;;
    stop) echo '{"hook_event_name":"Stop","stop_hook_active":false}' | craftastic-hook claude Stop ;;
    exit) exit 3 ;;
    esac
done
`

/**
 * The sandbox image with {@link FAKE_CLAUDE} in place of the real `claude`, built on the
 * sandbox image (the engine's cache makes a rebuild instant); start the server with
 * `SANDBOX_IMAGE` set to it. Its own tag, so that it never replaces the image of a test run
 * of the server's.
 */
export function fakeClaudeImage() {
  const tag = "craftastic/sandbox-fake-hooks:e2e"
  const base = process.env.SANDBOX_IMAGE ?? "craftastic/sandbox:latest"
  const dir = mkdtempSync(path.join(tmpdir(), "craftastic-e2e-image-"))
  try {
    writeFileSync(path.join(dir, "claude"), FAKE_CLAUDE)
    writeFileSync(
      path.join(dir, "Dockerfile"),
      `FROM ${base}\nUSER root\nRUN rm -f /usr/local/bin/claude\nCOPY claude /usr/local/bin/claude\nRUN chmod 755 /usr/local/bin/claude\nUSER dev\n`,
    )
    execFileSync("docker", ["build", "-q", "-t", tag, dir], { stdio: "pipe" })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return tag
}

/**
 * Starts the server; resolves once it prints its URL.
 *
 * `gitHttp`: also serve a bare copy of the fixture over HTTP (and let the server clone
 * http:// URLs), so that workspaces can push to it; `repoUrl` is then its URL and `remote`
 * its path on the host. `env`: more variables for the server.
 */
export async function startServer({ gitHttp = false, env: extraEnv = {} } = {}) {
  const bin = process.env.CRAFTASTIC_BIN ?? path.join(root, "target", "debug", "craftastic")
  const work = mkdtempSync(path.join(tmpdir(), "craftastic-e2e-"))
  const roots = path.join(work, "roots")
  mkdirSync(roots)
  const repo = fixtureRepo(roots)
  let repoUrl = repo
  let remote = repo
  let gitServer = null
  if (gitHttp) {
    const served = path.join(work, "served")
    mkdirSync(served)
    remote = path.join(served, "shop.git")
    git(work, "clone", "-q", "--bare", repo, remote)
    gitServer = await serveGit(served)
    repoUrl = `${gitServer.url}/shop.git`
  }
  const dataDir = path.join(work, "data")
  const log = []
  const env = {
    ...process.env,
    CRAFTASTIC_DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: "0",
    CRAFTASTIC_LOCAL_REPO_ROOTS: roots,
    LOG_LEVEL: "warn",
    ...(gitHttp ? { CRAFTASTIC_REPO_SCHEMES: "https,ssh,http" } : {}),
    ...extraEnv,
  }
  for (const name of ["DATABASE_URL", "JWT_SECRET", "SERVER_ENCRYPTION_KEY", "CORS_ORIGIN", "COOLIFY_API_URL", "COOLIFY_API_TOKEN"]) {
    if (!(name in extraEnv)) delete env[name]
  }
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
  }).catch(async (error) => {
    // A git server left listening would keep the test process alive.
    child.kill("SIGKILL")
    await gitServer?.close()
    throw error
  })
  return {
    url,
    repo,
    /** What to clone the fixture by, and where pushed commits land on the host. */
    repoUrl,
    remote,
    log,
    async stop() {
      const exited = new Promise((resolve) => child.on("exit", resolve))
      child.kill("SIGTERM")
      await exited
      await gitServer?.close()
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

/**
 * Whether a failed request is part of normal use rather than a problem: on a server without
 * COOLIFY_API_URL the deployments panel's routes answer 503, which the panel shows as the
 * server's sentence. Takes the status and the URL of the request.
 */
export function isExpectedFailure(status, url) {
  return status === 503 && new URL(url).pathname.startsWith("/api/deployment/")
}

/** The same for the browser's console line about such a request ("Failed to load resource"). */
export function isExpectedConsoleError(message) {
  const status = /Failed to load resource: the server responded with a status of (\d+)/.exec(message.text())
  return status !== null && isExpectedFailure(Number(status[1]), message.location().url)
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
