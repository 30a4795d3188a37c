import { render, screen, waitFor, within } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { describe, expect, it } from "vitest"

import type { Environment, GitCommit, GitStatus, Session } from "@/lib/api/types"
import { DiffView } from "@/features/git/DiffView"
import { GitPanel } from "@/features/git/GitPanel"
import { json, mockFetch, renderApp, signIn } from "@/test/render"
import { DEFAULT_SIZE } from "@/test/fixtures"

function session(id: string, name: string, gitBranch: string, status = "active"): Session {
  return {
    id,
    environmentId: "env-1",
    name,
    tmuxSessionName: name,
    workingDirectory: "/workspace",
    status,
    sessionType: "terminal",
    gitBranch,
    variablesOutdated: false,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    activity: { state: "idle", since: "2026-01-01T00:00:00Z" },
  }
}

function environment(sessions: Session[], status = "running"): Environment {
  return {
    id: "env-1",
    userId: "u",
    name: "shop",
    repositoryUrl: "https://github.com/ada/shop.git",
    branch: "main",
    status,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    egressPolicy: { mode: "open", hosts: [] },
    idleStopMinutes: 60,
    size: DEFAULT_SIZE,
    workspaces: [],
    sessions,
  }
}

const STATUS: GitStatus = {
  branch: "main",
  upstream: "origin/main",
  ahead: 2,
  behind: 0,
  clean: false,
  files: [
    { path: "hello.txt", originalPath: null, index: "untracked", worktree: "untracked" },
    { path: "src/app.ts", originalPath: null, index: "modified", worktree: "modified" },
    { path: "docs/new.md", originalPath: "docs/old.md", index: "renamed", worktree: "unmodified" },
  ],
}

const commit = (n: number): GitCommit => ({
  hash: n.toString(16).padStart(40, "a"),
  author: "Ada",
  email: "ada@example.com",
  date: "2026-01-01T00:00:00Z",
  message: `Commit ${n}\n\nBody`,
})

interface Options {
  status?: GitStatus
  commit?: (body: unknown) => Response
  push?: () => Response
}

/** The git routes of session s1, recording POST bodies. */
function gitServer(options: Options = {}) {
  const posted: { url: string; body: unknown }[] = []
  const fetchMock = mockFetch((url, init) => {
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined
    if (init?.method === "POST") posted.push({ url, body })
    if (url === "/api/git/status/s1") return json(200, options.status ?? STATUS)
    if (url === "/api/git/log/s1?limit=20&offset=0") {
      return json(200, { commits: Array.from({ length: 20 }, (_, i) => commit(i + 1)), hasMore: true })
    }
    if (url === "/api/git/log/s1?limit=20&offset=20") return json(200, { commits: [commit(21)], hasMore: false })
    if (url === "/api/git/diff/s1?file=hello.txt&staged=false") {
      return json(200, {
        diff: "diff --git a/hello.txt b/hello.txt\nnew file mode 100644\n--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+hi\n",
        truncated: false,
        binary: false,
      })
    }
    if (url === "/api/git/commit/s1") return options.commit?.(body) ?? json(200, { hash: "f".repeat(40) })
    if (url === "/api/git/push/s1") return options.push?.() ?? json(200, { pushed: true, remote: "origin", branch: "main" })
    return undefined
  })
  return { fetchMock, posted }
}

function renderPanel(env = environment([session("s1", "web", "main")])) {
  signIn()
  renderApp(<GitPanel environment={env} />)
  return userEvent.setup()
}

const row = (path: string) => screen.getByTestId("git-status").querySelector<HTMLElement>(`[data-testid="git-file-row"][data-path="${path}"]`)!

describe("GitPanel", () => {
  it("lists each changed file with its index and worktree states", async () => {
    gitServer()
    renderPanel()
    expect(await screen.findAllByTestId("git-file-row")).toHaveLength(3)
    expect(within(row("hello.txt")).getByTestId("git-file-untracked")).toHaveTextContent("Untracked")
    expect(within(row("src/app.ts")).getByTestId("git-file-index")).toHaveAttribute("title", "Staged: modified")
    expect(within(row("src/app.ts")).getByTestId("git-file-worktree")).toHaveAttribute("title", "Not staged: modified")
    expect(within(row("docs/new.md")).getByTestId("git-file-renamed-from")).toHaveTextContent("from docs/old.md")
    expect(screen.getByTestId("git-ahead")).toHaveTextContent("2")
    expect(screen.getByTestId("push-button")).toHaveAttribute("data-ahead", "2")
  })

  it("opens a file's diff, coloured by line, on the side that has its change", async () => {
    gitServer()
    const user = renderPanel()
    await screen.findAllByTestId("git-file-row")
    await user.click(within(row("hello.txt")).getByTestId("git-file-open"))
    const diff = await screen.findByTestId("git-diff")
    await waitFor(() => {
      expect(diff).toHaveAttribute("data-state", "ready")
    })
    expect(diff).toHaveAttribute("data-staged", "false")
    const added = diff.querySelectorAll('[data-kind="add"]')
    expect([...added].map((l) => l.textContent)).toEqual(["1+hi"])
    // An untracked file has nothing staged to show.
    expect(screen.getByTestId("git-diff-staged")).toBeDisabled()
  })

  it("follows the first active session's branch and lets another branch be picked", async () => {
    gitServer()
    renderPanel(environment([session("s0", "old", "feature", "dead"), session("s1", "web", "main")]))
    expect(await screen.findByTestId("git-status")).toHaveAttribute("data-session-id", "s1")
    expect(screen.getByTestId("git-panel")).toHaveAttribute("data-branch", "main")
    expect(screen.getByTestId("git-branch-select")).toHaveTextContent("main")
  })

  it("commits only the ticked files, and not without a message", async () => {
    const { posted, fetchMock } = gitServer()
    const user = renderPanel()
    await screen.findAllByTestId("git-file-row")
    expect(screen.getByTestId("commit-button")).toBeDisabled()
    expect(screen.getByTestId("commit-scope")).toHaveTextContent("Commits every change (3 files)")
    await user.click(within(row("hello.txt")).getByTestId("git-file-checkbox"))
    expect(screen.getByTestId("commit-scope")).toHaveTextContent("Commits 1 of 3 changed files")
    await user.type(screen.getByTestId("commit-message"), "   ")
    expect(screen.getByTestId("commit-button")).toBeDisabled()
    await user.type(screen.getByTestId("commit-message"), "Add hello")
    const statusCalls = () => fetchMock.mock.calls.filter(([url]) => url === "/api/git/status/s1").length
    const before = statusCalls()
    await user.click(screen.getByTestId("commit-button"))
    await waitFor(() => {
      expect(screen.getByTestId("commit-message")).toHaveValue("")
    })
    expect(posted).toEqual([{ url: "/api/git/commit/s1", body: { message: "   Add hello", files: ["hello.txt"] } }])
    // The status is read again after the commit.
    await waitFor(() => {
      expect(statusCalls()).toBeGreaterThan(before)
    })
  })

  it("shows the server's sentence when there is nothing to commit", async () => {
    gitServer({
      status: { ...STATUS, clean: true, files: [] },
      commit: () => json(409, { error: "nothing to commit: the worktree is clean", code: "nothing_to_commit" }),
    })
    const user = renderPanel()
    expect(await screen.findByTestId("git-clean")).toBeInTheDocument()
    await user.type(screen.getByTestId("commit-message"), "Empty")
    await user.click(screen.getByTestId("commit-button"))
    expect(await screen.findByTestId("commit-error")).toHaveTextContent("Nothing to commit: the worktree is clean")
    // Editing the message clears it.
    await user.type(screen.getByTestId("commit-message"), "!")
    expect(screen.queryByTestId("commit-error")).not.toBeInTheDocument()
  })

  it("shows why the remote refused a push", async () => {
    gitServer({
      push: () =>
        json(409, {
          error: "the remote has commits this branch lacks (fetch first); run git pull --rebase, then push again",
          code: "push_rejected",
        }),
    })
    const user = renderPanel()
    await screen.findAllByTestId("git-file-row")
    await user.click(screen.getByTestId("push-button"))
    const error = await screen.findByTestId("push-error")
    expect(error).toHaveAttribute("data-code", "push_rejected")
    expect(error).toHaveTextContent("The remote refused the push")
    expect(error).toHaveTextContent("run git pull --rebase, then push again")
  })

  it("loads more of the history from where the last page ended", async () => {
    const { fetchMock } = gitServer()
    const user = renderPanel()
    expect(await screen.findAllByTestId("git-log-entry")).toHaveLength(20)
    expect(screen.getAllByTestId("git-log-entry")[0]).toHaveTextContent("Commit 1")
    await user.click(screen.getByTestId("git-log-more"))
    await waitFor(() => {
      expect(screen.getAllByTestId("git-log-entry")).toHaveLength(21)
    })
    expect(screen.queryByTestId("git-log-more")).not.toBeInTheDocument()
    expect(fetchMock.mock.calls.map(([url]) => url)).toContain("/api/git/log/s1?limit=20&offset=20")
  })

  it("disables committing when the branch's sessions have ended", async () => {
    gitServer()
    renderPanel(environment([session("s1", "web", "main", "dead")]))
    expect(await screen.findByTestId("git-blocked")).toHaveTextContent("restart one to commit or push")
    expect(screen.getByTestId("commit-message")).toBeDisabled()
    expect(screen.getByTestId("push-button")).toBeDisabled()
  })

  it("says what to do without sessions or while the environment is stopped", () => {
    signIn()
    const { rerender } = render(<GitPanel environment={environment([])} />)
    expect(screen.getByTestId("git-no-session")).toBeInTheDocument()
    rerender(<GitPanel environment={environment([session("s1", "web", "main", "inactive")], "stopped")} />)
    expect(screen.getByTestId("git-unavailable")).toHaveTextContent("Start the environment")
  })
})

describe("DiffView", () => {
  it("says where a large diff was cut, and that a binary file has no text diff", () => {
    render(<DiffView diff={{ diff: "diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+ü\n", truncated: true, binary: false }} />)
    expect(screen.getByTestId("git-diff-truncated")).toHaveTextContent("it was cut at 38 bytes")
    render(<DiffView diff={{ diff: "Binary files a/logo.png and b/logo.png differ\n", truncated: false, binary: true }} />)
    expect(screen.getByTestId("git-diff-binary")).toHaveTextContent("Binary file")
  })
})
