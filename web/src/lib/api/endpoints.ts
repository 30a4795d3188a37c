// One function per API route the UI uses.

import { api, type ApiClient } from "@/lib/api/client"
import type {
  Availability,
  BranchCheck,
  CreateEnvironmentInput,
  CreateSessionInput,
  Environment,
  Session,
  SessionDeleted,
  Ticket,
  UpdateSessionInput,
  User,
} from "@/lib/api/types"

const seg = encodeURIComponent

export function endpoints(client: ApiClient) {
  return {
    me: (signal?: AbortSignal) => client.request<User>("/api/auth/me", { signal }),
    changePassword: (currentPassword: string, newPassword: string) =>
      client.request<undefined>("/api/auth/change-password", {
        method: "POST",
        body: { currentPassword, newPassword },
      }),

    listEnvironments: async (signal?: AbortSignal) =>
      (await client.request<{ environments: Environment[] }>("/api/environments", { signal })).environments,
    getEnvironment: (id: string, signal?: AbortSignal) =>
      client.request<Environment>(`/api/environments/${seg(id)}`, { signal }),
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
    checkSessionName: (environmentId: string, name: string, signal?: AbortSignal) =>
      client.request<Availability>(`/api/sessions/check-name/${seg(environmentId)}/${seg(name)}`, { signal }),
    checkBranch: (environmentId: string, branch: string, signal?: AbortSignal) =>
      client.request<BranchCheck>(`/api/sessions/check-branch/${seg(environmentId)}/${seg(branch)}`, {
        signal,
      }),

    terminalTicket: (sessionId: string) =>
      client.request<Ticket>("/api/terminal/ticket", { method: "POST", body: { sessionId } }),
  }
}

export const apiCalls = endpoints(api)
