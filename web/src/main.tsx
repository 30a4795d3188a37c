import { QueryClientProvider } from "@tanstack/react-query"
import { StrictMode } from "react"
import { createRoot } from "react-dom/client"
import { BrowserRouter } from "react-router"

import { App } from "@/App"
import { Toaster } from "@/components/ui/sonner"
import { TooltipProvider } from "@/components/ui/tooltip"
import { AuthProvider } from "@/lib/auth/AuthProvider"
import { EventsProvider } from "@/lib/events/EventsProvider"
import { createQueryClient } from "@/lib/queries"
import { ThemeProvider } from "@/lib/theme/ThemeProvider"
import { NoticeDispatcher } from "@/features/notifications/NoticeDispatcher"
import "@/index.css"

const queryClient = createQueryClient()
const root = document.getElementById("root")
if (!root) throw new Error("the page has no #root element")

createRoot(root).render(
  <StrictMode>
    <ThemeProvider>
      <QueryClientProvider client={queryClient}>
        <AuthProvider>
          <EventsProvider>
            <TooltipProvider delayDuration={300}>
              <BrowserRouter>
                <App />
                <NoticeDispatcher />
              </BrowserRouter>
              <Toaster richColors closeButton position="bottom-right" />
            </TooltipProvider>
          </EventsProvider>
        </AuthProvider>
      </QueryClientProvider>
    </ThemeProvider>
  </StrictMode>,
)
