// A git server over HTTP for the end-to-end tests: git's own `git http-backend` (smart
// HTTP, fetch and push), listening on every address of the host and reached by the server
// and by workspace containers at the address of Docker's bridge.
import { execFileSync, spawn } from "node:child_process"
import fs from "node:fs"
import http from "node:http"
import os from "node:os"
import path from "node:path"

/** The address containers reach the host at: the gateway of Docker's default bridge. */
export function bridgeAddress() {
  const out = execFileSync(
    "docker",
    ["network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}"],
    { encoding: "utf8" },
  ).trim()
  if (!out) throw new Error("cannot find the address of Docker's bridge network")
  return out
}

function git(args, cwd) {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "Fixture",
      GIT_AUTHOR_EMAIL: "fixture@example.com",
      GIT_COMMITTER_NAME: "Fixture",
      GIT_COMMITTER_EMAIL: "fixture@example.com",
    },
  })
}

/** Splits a CGI answer into status, headers and body. */
function cgiResponse(raw) {
  let at = raw.indexOf("\r\n\r\n")
  let gap = 4
  if (at < 0) {
    at = raw.indexOf("\n\n")
    gap = 2
  }
  if (at < 0) return { status: 502, headers: {}, body: Buffer.from("no CGI headers") }
  let status = 200
  const headers = {}
  for (const line of raw.subarray(0, at).toString("latin1").split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon < 0) continue
    const name = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 502
    else headers[name] = value
  }
  return { status, headers, body: raw.subarray(at + gap) }
}

/**
 * Starts the server over a fresh folder. `createRepo(name)` makes a bare repository with a
 * README on `main` (and a `feature` branch) and returns its URL; `log(name, branch)` lists
 * the subjects of a branch in the repository itself.
 */
export async function startGitServer() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "craftastic-e2e-git-"))
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x")
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_COUNT: "1",
        GIT_CONFIG_KEY_0: "http.receivepack",
        GIT_CONFIG_VALUE_0: "true",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method,
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        GIT_PROTOCOL: req.headers["git-protocol"] ?? "",
        REMOTE_ADDR: req.socket.remoteAddress ?? "",
      },
      stdio: ["pipe", "pipe", "inherit"],
    })
    const chunks = []
    child.stdout.on("data", (c) => chunks.push(c))
    child.on("close", () => {
      const { status, headers, body } = cgiResponse(Buffer.concat(chunks))
      res.writeHead(status, headers)
      res.end(body)
    })
    req.pipe(child.stdin)
  })
  await new Promise((resolve) => server.listen(0, "0.0.0.0", resolve))
  const base = `http://${bridgeAddress()}:${server.address().port}`
  return {
    url: base,
    createRepo(name) {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "craftastic-e2e-work-"))
      git(["init", "--quiet", "--initial-branch=main"], work)
      fs.writeFileSync(path.join(work, "README.md"), "# Fixture\n")
      git(["add", "README.md"], work)
      git(["commit", "--quiet", "-m", "First commit"], work)
      git(["branch", "feature"], work)
      git(["clone", "--quiet", "--bare", work, path.join(root, name)])
      fs.rmSync(work, { recursive: true, force: true })
      return `${base}/${name}`
    },
    log(name, branch = "main") {
      return git(["--git-dir", path.join(root, name), "log", "--format=%s", branch])
        .split("\n")
        .filter(Boolean)
    },
    async stop() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      fs.rmSync(root, { recursive: true, force: true })
    },
  }
}
