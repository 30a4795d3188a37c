import { QueryClient, QueryClientProvider } from "@tanstack/react-query"
import { render } from "@testing-library/react"
import type { ReactElement } from "react"
import { MemoryRouter, Route, Routes } from "react-router"
import { vi } from "vitest"

import { TooltipProvider } from "@/components/ui/tooltip"
import { AuthProvider } from "@/lib/auth/AuthProvider"
import { writeTokens } from "@/lib/auth/tokens"
import { ThemeProvider } from "@/lib/theme/ThemeProvider"

export function signIn(): void {
  writeTokens(
    { accessToken: "access", refreshToken: "refresh", expiresAt: Date.now() + 900_000, obtainedAt: Date.now() },
    localStorage,
  )
}

export type Route = (url: string, init: RequestInit | undefined) => Response | undefined

/** Replaces fetch with a table of answers; unknown requests answer 404. */
export function mockFetch(route: Route) {
  const mock = vi.fn((input: string, init?: RequestInit) =>
    Promise.resolve(route(input, init) ?? new Response(JSON.stringify({ error: "not found", code: "not_found" }), { status: 404 })),
  )
  vi.stubGlobal("fetch", mock)
  return mock
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } })
}

/** Renders `ui` at `path` with the app's providers. */
export function renderApp(ui: ReactElement, { path = "/test", route = "*" }: { path?: string; route?: string } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } })
  return render(
    <ThemeProvider>
      <QueryClientProvider client={client}>
        <AuthProvider>
          <TooltipProvider>
            <MemoryRouter initialEntries={[path]}>
              <Routes>
                <Route path={route} element={ui} />
                <Route path="/signin" element={<p>sign-in page</p>} />
                <Route path="/" element={<p>home page</p>} />
              </Routes>
            </MemoryRouter>
          </TooltipProvider>
        </AuthProvider>
      </QueryClientProvider>
    </ThemeProvider>,
  )
}
