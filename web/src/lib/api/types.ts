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

export interface Workspace {
  id: string
  branch: string
  status: WorkspaceStatus | (string & {})
  containerId?: string | null
  error?: string | null
}

export type SessionStatus = "active" | "inactive" | "dead"

export interface Session {
  id: string
  environmentId: string
  name: string
  tmuxSessionName: string
  workingDirectory: string
  status: SessionStatus | (string & {})
  sessionType: "terminal" | "agent" | (string & {})
  agentId?: string | null
  gitBranch: string
  createdAt: string
  updatedAt: string
  lastActivity?: string | null
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
}

export interface CreateSessionInput {
  environmentId: string
  name?: string
  branch?: string
  workingDirectory?: string
}

export interface UpdateSessionInput {
  name?: string
  status?: SessionStatus
}
