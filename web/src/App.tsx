import { LoaderCircle } from "lucide-react"
import { lazy, Suspense } from "react"
import { Route, Routes } from "react-router"

import { AgentsPage } from "@/features/agents/AgentsPage"
import { AttentionPage } from "@/features/attention/AttentionPage"
import { PublicOnly, RequireAuth } from "@/features/auth/guards"
import { RegisterPage } from "@/features/auth/RegisterPage"
import { SignInPage } from "@/features/auth/SignInPage"
import { DashboardPage } from "@/features/environments/DashboardPage"
import { EnvironmentPage } from "@/features/environments/EnvironmentPage"
import { AppShell } from "@/features/layout/AppShell"
import { NotFoundPage } from "@/features/layout/NotFoundPage"
import { SettingsPage } from "@/features/settings/SettingsPage"

// xterm.js and its addons load only with the terminal and replay pages.
const TerminalPage = lazy(() => import("@/features/terminal/TerminalPage"))
const ReplayPage = lazy(() => import("@/features/replay/ReplayPage"))

function TerminalFallback({ what = "the terminal" }: { what?: string }) {
  return (
    <div className="text-muted-foreground flex h-dvh items-center justify-center gap-2 text-sm" role="status">
      <LoaderCircle className="size-4 animate-spin" aria-hidden />
      Loading {what}…
    </div>
  )
}

export function App() {
  return (
    <Routes>
      <Route element={<PublicOnly />}>
        <Route path="/signin" element={<SignInPage />} />
        <Route path="/register" element={<RegisterPage />} />
      </Route>
      <Route element={<RequireAuth />}>
        <Route element={<AppShell />}>
          <Route index element={<DashboardPage />} />
          <Route path="/environments/:id" element={<EnvironmentPage />} />
          <Route path="/attention" element={<AttentionPage />} />
          <Route path="/agents" element={<AgentsPage />} />
          <Route path="/settings" element={<SettingsPage />} />
        </Route>
        <Route
          path="/environments/:envId/terminal/:sessionId"
          element={
            <Suspense fallback={<TerminalFallback />}>
              <TerminalPage />
            </Suspense>
          }
        />
        <Route
          path="/environments/:envId/replay/:sessionId"
          element={
            <Suspense fallback={<TerminalFallback what="the replay" />}>
              <ReplayPage />
            </Suspense>
          }
        />
      </Route>
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  )
}
