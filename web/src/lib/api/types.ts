// The shapes of the Craftastic HTTP API (see the server's /api/openapi.json).

export interface User {
  id: string
  email: string
  name: string
  isAdmin: boolean
  githubUsername?: string | null
  createdAt: string
}

export interface Tokens {
  accessToken: string
  refreshToken: string
  /** Seconds until the access token expires. */
  expiresIn: number
}

export interface SignedIn extends Tokens {
  user: User
}

export type EnvironmentStatus = "creating" | "running" | "stopped" | "error" | "deleting"

export type WorkspaceStatus = "creating" | "running" | "stopped" | "missing" | "error"

/** A workspace's devcontainer (`GET /api/environments/:id/devcontainers`). */
export interface Devcontainer {
  workspaceId: string
  branch: string | null
  status: "reading" | "building" | "postCreate" | "postStart" | "ready" | "invalid" | "failed" | (string & {})
  config?: { path: string; name?: string }
  unsupported: { field: string; reason: string }[]
  forwardPorts: { port: number; host?: string }[]
  error?: string
  log: { at: string; line: string }[]
  logCut: boolean
}

export interface Workspace {
  id: string
  branch: string
  status: WorkspaceStatus | (string & {})
  containerId?: string | null
  /** Why the server stopped it (e.g. over its disk cap) or why it failed. */
  error?: string | null
  /** Disk it held when last measured (worktree, rest of its container, repository). */
  diskBytes?: number | null
  /** Its disk cap at that measurement; absent when there is none. */
  diskLimitBytes?: number | null
  diskMeasuredAt?: string | null
}

export type SessionStatus = "active" | "inactive" | "dead"

/** What a session is doing, from the one that needs the user most. */
export type ActivityState = "permission" | "waiting" | "working" | "idle" | "exited" | "unknown"

export interface SessionActivity {
  state: ActivityState | (string & {})
  /** When it went into this state (RFC 3339). */
  since: string
  /** What it waits for, runs, or how it ended, when known. */
  detail?: string | null
}

export interface Session {
  id: string
  environmentId: string
  name: string
  tmuxSessionName: string
  workingDirectory: string
  status: SessionStatus | (string & {})
  sessionType: SessionType | (string & {})
  agentId?: string | null
  gitBranch: string
  createdAt: string
  updatedAt: string
  lastActivity?: string | null
  activity: SessionActivity
  /** It runs with other values of its environment's variables than the environment has
   * now; starting it again gives it the new ones. */
  variablesOutdated: boolean
}

/** Where an environment's workspaces may connect to: anywhere, nowhere, or listed hosts. */
export type EgressMode = "open" | "none" | "allowlist"

export interface EgressPolicy {
  mode: EgressMode
  /** With `allowlist`: host names (`github.com`), or `*.` and a name for its subdomains. */
  hosts: string[]
}

/** Memory, CPUs and disk of a workspace. */
export interface WorkspaceSize {
  memoryBytes: number
  cpus: number
  /** `null`: no disk cap (among the maxima: no maximum). */
  diskBytes: number | null
}

/** What an environment asks for its workspaces; each `null` takes the server's default. */
export interface SizeSetting {
  memoryBytes: number | null
  cpus: number | null
  diskBytes: number | null
}

export interface EnvironmentSize {
  /** What each of its workspaces gets. */
  effective: WorkspaceSize
  setting: SizeSetting
  /** What a workspace gets when its environment asks for nothing. */
  defaults: WorkspaceSize
  /** The most an environment may ask for. */
  maxima: WorkspaceSize
}

/** A size to set: each field left out or `null` takes the server's default. */
export type SizeInput = Partial<SizeSetting>

export interface WorkspaceUsage {
  workspaceId: string
  branch: string
  status: WorkspaceStatus | (string & {})
  /** What its processes hold now, while it runs. */
  memoryBytes?: number | null
  /** Its memory limit as the kernel applies it now. */
  memoryLimitBytes?: number | null
  /** Why a running workspace's memory is not known. */
  memoryUnknown?: string | null
  diskBytes?: number | null
  diskLimitBytes?: number | null
  diskMeasuredAt?: string | null
}

export interface EnvironmentUsage {
  size: WorkspaceSize
  workspaces: WorkspaceUsage[]
}

/** One of an environment's variables; a secret comes without its value. */
export interface Variable {
  name: string
  value?: string | null
  secret: boolean
}

export interface EnvironmentVariables {
  variables: Variable[]
  /** Grows with every change of them. */
  version: number
  /** The sessions still running with other values. */
  outdatedSessions: string[]
}

/** A variable to set: a secret without `value` keeps the one stored under its name. */
export interface VariableInput {
  name: string
  value?: string
  secret?: boolean
}

export interface Environment {
  id: string
  userId: string
  name: string
  repositoryUrl?: string | null
  /** The default branch. */
  branch: string
  status: EnvironmentStatus | (string & {})
  error?: string | null
  containerId?: string | null
  egressPolicy: EgressPolicy
  /** Minutes a workspace may sit idle before the server stops it; 0: never. */
  idleStopMinutes: number
  /** The memory, CPUs and disk of its workspaces. */
  size: EnvironmentSize
  createdAt: string
  updatedAt: string
  workspaces: Workspace[]
  sessions: Session[]
}

export interface Availability {
  available: boolean
  reason?: string | null
}

export interface BranchCheck {
  valid: boolean
  exists: boolean
  inUseBySessions: number
  reason?: string | null
}

/** The 200 answer of a session delete that kept the branch's workspace. */
export interface SessionDeleted {
  deleted: boolean
  workspaceKept: boolean
  reason: string
}

export interface Ticket {
  ticket: string
  expiresIn: number
}

export interface CreateEnvironmentInput {
  name: string
  repositoryUrl?: string
  branch?: string
  /** `open` when left out. */
  egressPolicy?: EgressPolicy
  /** 60 when left out; 0: never. */
  idleStopMinutes?: number
  /** The server's defaults when left out. */
  size?: SizeInput
}

export type SessionType = "terminal" | "agent"

export interface CreateSessionInput {
  environmentId: string
  name?: string
  branch?: string
  workingDirectory?: string
  /** `terminal` (a shell) when left out. */
  sessionType?: SessionType
  /** The agent whose CLI an `agent` session starts. */
  agentId?: string
}

export interface UpdateSessionInput {
  name?: string
  status?: SessionStatus
}

// ---- git (in a session's workspace) ------------------------------------------------------

/** A side of a file's change, as `git status` names it. */
export type GitFileState =
  | "unmodified"
  | "modified"
  | "type-changed"
  | "added"
  | "deleted"
  | "renamed"
  | "copied"
  | "unmerged"
  | "untracked"

export interface GitFile {
  path: string
  /** The path before a rename or copy. */
  originalPath: string | null
  /** The change staged in the index (against HEAD). */
  index: GitFileState | (string & {})
  /** The change in the worktree (against the index). */
  worktree: GitFileState | (string & {})
}

export interface GitStatus {
  branch: string | null
  upstream: string | null
  ahead: number
  behind: number
  clean: boolean
  files: GitFile[]
}

export interface GitDiff {
  diff: string
  /** The diff went over the server's cap and was cut at a whole line. */
  truncated: boolean
  binary: boolean
}

export interface GitCommit {
  hash: string
  author: string
  email: string
  date: string
  message: string
}

export interface GitLogPage {
  commits: GitCommit[]
  hasMore: boolean
}

export interface CommitInput {
  message: string
  /** Only these files; every change when left out. */
  files?: string[]
}

export interface PushInput {
  remote?: string
  branch?: string
}

export interface Pushed {
  pushed: true
  remote: string
  branch: string
}

export interface Fetched {
  fetched: true
  remote: string
}

export interface GitRepo {
  repositoryUrl: string | null
  defaultBranch: string
  branches: string[]
  worktrees: { branch: string; sessionIds: string[] }[]
}

// ---- GitHub ------------------------------------------------------------------------------

export interface GitHubDeviceFlow {
  flowId: string
  /** What the user types at `verificationUri`. */
  userCode: string
  verificationUri: string
  /** Seconds until the code expires. */
  expiresIn: number
  /** Seconds to wait between polls. */
  interval: number
}

export type GitHubFlowStatus = "pending" | "connected" | "expired" | "denied"

export interface GitHubPoll {
  status: GitHubFlowStatus
  username?: string | null
  /** Seconds to wait before the next poll (GitHub may ask for more). */
  interval: number
}

export interface GitHubStatus {
  connected: boolean
  username?: string | null
}

export interface GitHubRepository {
  fullName: string
  cloneUrl: string
  private: boolean
  /** Left out for an empty repository. */
  defaultBranch?: string | null
}

export interface GitHubRepositoryPage {
  repositories: GitHubRepository[]
  hasMore: boolean
}

// ---- agents ------------------------------------------------------------------------------

export type AgentType = "claude-code" | "gemini-cli" | "qwen-coder" | "cursor-cli" | "codex" | "opencode"

export type CredentialType = "api-key" | "oauth"

export interface Agent {
  id: string
  userId: string
  name: string
  type: AgentType | (string & {})
  hasCredential: boolean
  /** Which kind of credential it has; the value itself is never answered. */
  credentialType?: CredentialType | (string & {}) | null
  createdAt: string
  updatedAt: string
}

/** A credential on its way to the server: write-only. */
export interface CredentialInput {
  type: CredentialType
  /** An API key, or for `oauth` the CLI's credentials file (a JSON object). */
  value: string
}

export interface CreateAgentInput {
  name: string
  type: AgentType
  credential?: CredentialInput
}

export interface UpdateAgentInput {
  name?: string
  /** A credential replaces the agent's one; `null` removes it; left out, it stays. */
  credential?: CredentialInput | null
}

// ---- deployments (Coolify) ---------------------------------------------------------------

/** `queued` and `in_progress` move on by themselves; the others are final. */
export type DeploymentStatus = "queued" | "in_progress" | "finished" | "failed" | "cancelled"

/** What the server knows of a deployment besides its status; every key may be missing. */
export interface DeploymentMetadata {
  coolifyMessage?: string
  coolifyStatus?: string
  previousBranch?: string
  startedAt?: string
  finishedAt?: string
  durationSeconds?: number
  commit?: string
  commitMessage?: string
  deploymentUrl?: string
  /** Why it failed, when Craftastic decided so. */
  error?: string
  /** Why Coolify could not be asked the last time. */
  lastError?: string
  [key: string]: unknown
}

export interface Deployment {
  id: string
  environmentId: string
  /** The Coolify application's uuid. */
  appId: string
  branch?: string | null
  status: DeploymentStatus | (string & {})
  /** Coolify's id of the deployment. */
  coolifyDeploymentId?: string | null
  createdAt: string
  updatedAt: string
  metadata: DeploymentMetadata
}

export interface DeployInput {
  environmentId: string
  appId: string
  /** The environment's branch when left out. */
  branch?: string
  /** Rebuild without Coolify's cache. */
  force?: boolean
}

/** A Coolify application an admin has allowed an environment to deploy. */
export interface DeploymentBinding {
  environmentId: string
  appId: string
  /** The admin who bound it. */
  createdBy?: string | null
  createdAt: string
}

/** One number per limited thing a user has. */
export interface LimitCounts {
  environments: number
  runningWorkspaces: number
  sessions: number
  terminals: number
  deploymentsInFlight: number
}

export type LimitKey = keyof LimitCounts

/** The limits an admin set for one user; null is the server's default. */
export type LimitOverrides = Record<LimitKey, number | null>

/** What a user has, may have, the server's defaults, and what an admin changed. */
export interface Limits {
  usage: LimitCounts
  limits: LimitCounts
  defaults: LimitCounts
  overrides: LimitOverrides
}

export interface AdminUser extends User {
  usage: LimitCounts
  limits: LimitCounts
  overrides: LimitOverrides
}

export interface AdminUserList {
  users: AdminUser[]
  total: number
  /** The server's default limits. */
  defaults: LimitCounts
}

/** A change of limits: a field left out stays, null brings back the default. */
export type LimitsPatch = Partial<LimitOverrides>

/** The user's notification settings; the webhook's URL is never answered back. */
export interface NotificationSettings {
  /** Whether the `notification` event reaches the browser. */
  browser: boolean
  /** Whether a webhook is set. */
  webhook: boolean
}

/** A change of the notification settings: a field left out stays, `webhookUrl: null` removes it. */
export interface NotificationSettingsPatch {
  browser?: boolean
  webhookUrl?: string | null
}

/** An agent that needs the user, as the `notification` event tells it. */
export interface Notice {
  sessionId: string
  environmentId: string
  state: ActivityState | (string & {})
  /** The session's name and why ("api asks to approve an action"). */
  title: string
  /** One line with the environment's name too. */
  text: string
  detail?: string
}
