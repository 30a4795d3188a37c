import { LogOut, Settings, User as UserIcon } from "lucide-react"
import { NavLink, Outlet, useNavigate } from "react-router"

import { Logo } from "@/components/Logo"
import { ThemeToggle } from "@/components/ThemeToggle"
import { Button } from "@/components/ui/button"
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu"
import { useAuth } from "@/lib/auth/auth"
import { cn } from "@/lib/utils"
import { AttentionCount } from "@/features/attention/AttentionCount"
import { LiveIndicator } from "@/features/layout/LiveIndicator"

function initials(name: string | undefined): string {
  if (!name) return "?"
  const parts = name.trim().split(/\s+/)
  return ((parts[0]?.[0] ?? "") + (parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "")).toUpperCase() || "?"
}

const navClass = ({ isActive }: { isActive: boolean }) =>
  cn(
    "rounded-md px-2.5 py-1.5 text-sm font-medium sm:px-3 transition-colors outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50",
    isActive ? "bg-accent text-accent-foreground" : "text-muted-foreground hover:text-foreground",
  )

export function AppShell() {
  const { user, signOut } = useAuth()
  const navigate = useNavigate()

  return (
    <div className="flex min-h-full flex-col">
      <a
        href="#main"
        className="bg-primary text-primary-foreground sr-only z-50 rounded-md px-3 py-2 focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <header className="bg-background/85 supports-[backdrop-filter]:bg-background/70 sticky top-0 z-40 border-b backdrop-blur">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-2 px-4 sm:gap-4">
          <Logo compact />
          <nav aria-label="Main" className="flex items-center gap-1 sm:ml-2">
            <NavLink to="/" end className={navClass} data-testid="environments-nav-link">
              Environments
            </NavLink>
            {/* On narrow screens the count next to the account menu leads there. */}
            <NavLink
              to="/attention"
              className={(state) => cn(navClass(state), "hidden sm:block")}
              data-testid="attention-nav-link"
            >
              Attention
            </NavLink>
            <NavLink to="/agents" className={navClass} data-testid="agents-nav-link">
              Agents
            </NavLink>
            <NavLink to="/settings" className={(state) => cn(navClass(state), "hidden sm:block")} data-testid="settings-nav-link">
              Settings
            </NavLink>
          </nav>
          <div className="ml-auto flex items-center gap-1 sm:gap-2">
            <LiveIndicator quiet="narrow" />
            <AttentionCount />
            <ThemeToggle />
            <DropdownMenu>
              <DropdownMenuTrigger asChild>
                <Button variant="ghost" size="icon" aria-label="Account" data-testid="user-menu">
                  <span className="bg-muted flex size-7 items-center justify-center rounded-full text-xs font-semibold">
                    {user ? initials(user.name) : <UserIcon className="size-4" aria-hidden />}
                  </span>
                </Button>
              </DropdownMenuTrigger>
              <DropdownMenuContent align="end" className="w-56">
                <DropdownMenuLabel className="font-normal">
                  <div className="truncate font-medium">{user?.name ?? "Signed in"}</div>
                  <div className="text-muted-foreground truncate text-xs">{user?.email}</div>
                </DropdownMenuLabel>
                <DropdownMenuSeparator />
                <DropdownMenuItem onSelect={() => void navigate("/settings")}>
                  <Settings aria-hidden /> Settings
                </DropdownMenuItem>
                <DropdownMenuItem
                  data-testid="sign-out"
                  onSelect={() => {
                    void signOut().then(() => navigate("/signin", { replace: true }))
                  }}
                >
                  <LogOut aria-hidden /> Sign out
                </DropdownMenuItem>
              </DropdownMenuContent>
            </DropdownMenu>
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 px-4 py-6 outline-none sm:py-8">
        <Outlet />
      </main>
    </div>
  )
}
