import type { ReactNode } from "react"

import { LogoMark } from "@/components/Logo"
import { ThemeToggle } from "@/components/ThemeToggle"

export function AuthLayout({ title, subtitle, children }: { title: string; subtitle: ReactNode; children: ReactNode }) {
  return (
    <div className="bg-muted/30 flex min-h-full flex-col">
      <div className="flex justify-end p-3">
        <ThemeToggle />
      </div>
      <main className="flex flex-1 items-start justify-center px-4 pt-4 pb-16 sm:items-center sm:pt-0">
        <div className="w-full max-w-sm space-y-6">
          <div className="flex flex-col items-center gap-3 text-center">
            <LogoMark className="size-10" />
            <div className="space-y-1">
              <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
              <p className="text-muted-foreground text-sm">{subtitle}</p>
            </div>
          </div>
          <div className="bg-card rounded-xl border p-6 shadow-sm">{children}</div>
        </div>
      </main>
    </div>
  )
}
