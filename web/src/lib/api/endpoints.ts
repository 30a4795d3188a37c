// One function per API route the UI uses.

import { api, type ApiClient } from "@/lib/api/client"
import type {
  AdminUserList,
  Agent,
  Availability,
  BranchCheck,
  CommitInput,
  CreateAgentInput,
  CreateEnvironmentInput,
  CreateSessionInput,
  DeployInput,
  Deployment,
  DeploymentBinding,
  Devcontainer,
  EgressPolicy,
  Environment,
  EnvironmentUsage,
  EnvironmentVariables,
  Fetched,
  GitDiff,
  GitHubDeviceFlow,
  GitHubPoll,
  GitHubRepositoryPage,
  GitHubStatus,
  GitLogPage,
  GitRepo,
  GitStatus,
  Limits,
  LimitsPatch,
  NotificationSettings,
  NotificationSettingsPatch,
  PushInput,
  Pushed,
  Session,
  SessionDeleted,
  SizeInput,
  Ticket,
  UpdateAgentInput,
  UpdateSessionInput,
  User,
  VariableInput,
} from "@/lib/api/types"

const seg = encodeURIComponent

/** A query string of the defined values. */
function query(values: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) params.set(key, String(value))
  }
  return params.toString()
}

export function endpoints(client: ApiClient) {
  return {
    me: (signal?: AbortSignal) => client.request<User>("/api/auth/me", { signal }),
    changePassword: (currentPassword: string, newPassword: string) =>
      client.request<undefined>("/api/auth/change-password", {
        method: "POST",
        body: { currentPassword, newPassword },
      }),
    myLimits: (signal?: AbortSignal) => client.request<Limits>("/api/auth/me/limits", { signal }),

    /** Admins only (403 otherwise). */
    listUsers: (page: { offset: number; limit: number }, signal?: AbortSignal) =>
      client.request<AdminUserList>(`/api/admin/users?${query(page)}`, { signal }),
    /** 422 with `details.fields.<limit>` for a value out of range. */
    setUserLimits: (userId: string, patch: LimitsPatch) =>
      client.request<Limits>(`/api/admin/users/${seg(userId)}/limits`, { method: "PUT", body: patch }),

    notificationSettings: (signal?: AbortSignal) =>
      client.request<NotificationSettings>("/api/notifications/settings", { signal }),
    /** 422 when the webhook's URL is not valid, saying why. */
    updateNotificationSettings: (patch: NotificationSettingsPatch) =>
      client.request<NotificationSettings>("/api/notifications/settings", { method: "PUT", body: patch }),
    /** Sends a test to the webhook: 409 `webhook_not_set`; 502 with why the webhook refused it. */
    testNotification: () => client.request<undefined>("/api/notifications/test", { method: "POST" }),

    listEnvironments: async (signal?: AbortSignal) =>
      (await client.request<{ environments: Environment[] }>("/api/environments", { signal })).environments,
    getEnvironment: (id: string, signal?: AbortSignal) =>
      client.request<Environment>(`/api/environments/${seg(id)}`, { signal }),
    getDevcontainers: async (id: string, signal?: AbortSignal) =>
      (await client.request<{ workspaces: Devcontainer[] }>(`/api/environments/${seg(id)}/devcontainers`, { signal }))
        .workspaces,
    checkEnvironmentName: (name: string, signal?: AbortSignal) =>
      client.request<Availability>(`/api/environments/check-name/${seg(name)}`, { signal }),
    createEnvironment: (input: CreateEnvironmentInput) =>
      client.request<Environment>("/api/environments", { method: "POST", body: input }),
    stopEnvironment: (id: string) =>
      client.request<Environment>(`/api/environments/${seg(id)}/stop`, { method: "POST" }),
    startEnvironment: (id: string) =>
      client.request<Environment>(`/api/environments/${seg(id)}/start`, { method: "POST" }),
    deleteEnvironment: (id: string) =>
      client.request<undefined>(`/api/environments/${seg(id)}`, { method: "DELETE" }),
    /** 422 with `details.fields` (`egressPolicy.mode`, `egressPolicy.hosts`) naming the bad host. */
    setEgressPolicy: (id: string, policy: EgressPolicy) =>
      client.request<Environment>(`/api/environments/${seg(id)}/egress`, { method: "PUT", body: policy }),
    /** 422 when `minutes` is not a whole number from 0 to 10080. */
    setIdleStop: (id: string, minutes: number) =>
      client.request<Environment>(`/api/environments/${seg(id)}/idle-stop`, { method: "PUT", body: { minutes } }),
    /** 422 with `details.fields` (`memoryBytes`, `cpus`, `diskBytes`) saying the maximum. */
    setSize: (id: string, size: SizeInput) =>
      client.request<Environment>(`/api/environments/${seg(id)}/size`, { method: "PUT", body: size }),
    getUsage: (id: string, signal?: AbortSignal) =>
      client.request<EnvironmentUsage>(`/api/environments/${seg(id)}/usage`, { signal }),
    getVariables: (id: string, signal?: AbortSignal) =>
      client.request<EnvironmentVariables>(`/api/environments/${seg(id)}/variables`, { signal }),
    /** Replaces them all; 422 with `details.fields` naming each bad entry (`variables[2].name`). */
    setVariables: (id: string, variables: VariableInput[]) =>
      client.request<EnvironmentVariables>(`/api/environments/${seg(id)}/variables`, {
        method: "PUT",
        body: { variables },
      }),

    listSessions: async (environmentId: string, signal?: AbortSignal) =>
      (
        await client.request<{ sessions: Session[] }>(`/api/sessions/environment/${seg(environmentId)}`, {
          signal,
        })
      ).sessions,
    getSession: (id: string, signal?: AbortSignal) =>
      client.request<Session>(`/api/sessions/${seg(id)}`, { signal }),
    createSession: (input: CreateSessionInput) =>
      client.request<Session>("/api/sessions", { method: "POST", body: input }),
    updateSession: (id: string, input: UpdateSessionInput) =>
      client.request<Session>(`/api/sessions/${seg(id)}`, { method: "PATCH", body: input }),
    /** Resolves to the reason when the branch's workspace was kept (a 200), else null (204). */
    deleteSession: async (id: string): Promise<SessionDeleted | null> => {
      const answer = await client.requestRaw<SessionDeleted>(`/api/sessions/${seg(id)}`, { method: "DELETE" })
      return answer.status === 200 && answer.data?.workspaceKept ? answer.data : null
    },
    /** The session's recording, asciicast v2 text; 409 `not_running` while its workspace is stopped. */
    sessionRecording: (id: string, signal?: AbortSignal) =>
      client.requestText(`/api/sessions/${seg(id)}/recording`, { signal }),
    checkSessionName: (environmentId: string, name: string, signal?: AbortSignal) =>
      client.request<Availability>(`/api/sessions/check-name/${seg(environmentId)}/${seg(name)}`, { signal }),
    checkBranch: (environmentId: string, branch: string, signal?: AbortSignal) =>
      client.request<BranchCheck>(`/api/sessions/check-branch/${seg(environmentId)}/${seg(branch)}`, {
        signal,
      }),

    terminalTicket: (sessionId: string) =>
      client.request<Ticket>("/api/terminal/ticket", { method: "POST", body: { sessionId } }),

    gitStatus: (sessionId: string, signal?: AbortSignal) =>
      client.request<GitStatus>(`/api/git/status/${seg(sessionId)}`, { signal }),
    /** One file's diff (the whole workspace's without `file`): the index against HEAD when
     * `staged`, else the worktree against the index. */
    gitDiff: (sessionId: string, options: { file?: string; staged: boolean }, signal?: AbortSignal) =>
      client.request<GitDiff>(
        `/api/git/diff/${seg(sessionId)}?${query({ file: options.file, staged: options.staged })}`,
        { signal },
      ),
    gitLog: (sessionId: string, page: { limit: number; offset: number }, signal?: AbortSignal) =>
      client.request<GitLogPage>(`/api/git/log/${seg(sessionId)}?${query(page)}`, { signal }),
    /** 409 `nothing_to_commit` when nothing changed; 409 `session_ended` on a dead session. */
    gitCommit: (sessionId: string, input: CommitInput) =>
      client.request<{ hash: string }>(`/api/git/commit/${seg(sessionId)}`, { method: "POST", body: input }),
    /** 409 `push_rejected` with git's reason; 502 when the remote cannot be reached. */
    gitPush: (sessionId: string, input: PushInput = {}) =>
      client.request<Pushed>(`/api/git/push/${seg(sessionId)}`, { method: "POST", body: input }),
    /** Brings in the remote's commits (with the linked GitHub token); 502 when unreachable. */
    gitFetch: (sessionId: string, input: { remote?: string } = {}) =>
      client.request<Fetched>(`/api/git/fetch/${seg(sessionId)}`, { method: "POST", body: input }),
    gitRepo: (environmentId: string, signal?: AbortSignal) =>
      client.request<GitRepo>(`/api/git/repo/${seg(environmentId)}`, { signal }),

    /** 503 when this server has no GitHub app configured. */
    githubInitiate: () => client.request<GitHubDeviceFlow>("/api/auth/github/initiate", { method: "POST" }),
    githubPoll: (flowId: string, signal?: AbortSignal) =>
      client.request<GitHubPoll>("/api/auth/github/poll", { method: "POST", body: { flowId }, signal }),
    githubStatus: (signal?: AbortSignal) => client.request<GitHubStatus>("/api/auth/github/status", { signal }),
    githubDisconnect: () => client.request<undefined>("/api/auth/github/disconnect", { method: "DELETE" }),
    /** 409 `github_not_linked` without a linked account. */
    githubRepositories: (page: { page: number; perPage: number }, signal?: AbortSignal) =>
      client.request<GitHubRepositoryPage>(`/api/auth/github/repos?${query(page)}`, { signal }),

    listAgents: async (signal?: AbortSignal) =>
      (await client.request<{ agents: Agent[] }>("/api/agents", { signal })).agents,
    getAgent: (id: string, signal?: AbortSignal) => client.request<Agent>(`/api/agents/${seg(id)}`, { signal }),
    /** 409 `name_taken`; 422 with `details.fields` (`name`, `type`, `credential.type`, `credential.value`). */
    createAgent: (input: CreateAgentInput) => client.request<Agent>("/api/agents", { method: "POST", body: input }),
    updateAgent: (id: string, input: UpdateAgentInput) =>
      client.request<Agent>(`/api/agents/${seg(id)}`, { method: "PATCH", body: input }),
    deleteAgent: (id: string) => client.request<undefined>(`/api/agents/${seg(id)}`, { method: "DELETE" }),

    /** 202 with the deployment `queued`; 503 without Coolify configured; 502 with Coolify's reason. */
    deploy: (input: DeployInput) =>
      client.request<Deployment>("/api/deployment/deploy", { method: "POST", body: input }),
    /** The deployment, its status asked of Coolify when it has not ended. */
    deploymentStatus: (id: string, signal?: AbortSignal) =>
      client.request<Deployment>(`/api/deployment/status/${seg(id)}`, { signal }),
    /** Newest first. */
    listDeployments: async (environmentId: string, signal?: AbortSignal) =>
      (
        await client.request<{ deployments: Deployment[] }>(`/api/deployment/list/${seg(environmentId)}`, {
          signal,
        })
      ).deployments,
    /** The applications the environment may deploy, oldest first. */
    listDeploymentBindings: async (environmentId: string, signal?: AbortSignal) =>
      (
        await client.request<{ bindings: DeploymentBinding[] }>(
          `/api/environments/${seg(environmentId)}/deployment-bindings`,
          { signal },
        )
      ).bindings,
    /** Admins only (403 `admin_only`); binding an application twice changes nothing. */
    bindApplication: (environmentId: string, appId: string) =>
      client.request<DeploymentBinding>(
        `/api/environments/${seg(environmentId)}/deployment-bindings/${seg(appId)}`,
        { method: "PUT" },
      ),
    unbindApplication: (environmentId: string, appId: string) =>
      client.request<undefined>(`/api/environments/${seg(environmentId)}/deployment-bindings/${seg(appId)}`, {
        method: "DELETE",
      }),
  }
}

export const apiCalls = endpoints(api)
