import { SearchX } from "lucide-react"
import { Link } from "react-router"

import { EmptyState } from "@/components/States"
import { Button } from "@/components/ui/button"

export function NotFoundPage() {
  return (
    <div className="flex min-h-full items-center justify-center p-4">
      <EmptyState
        icon={<SearchX />}
        title="Page not found"
        action={
          <Button asChild>
            <Link to="/">Go to your environments</Link>
          </Button>
        }
      >
        Nothing lives at this address.
      </EmptyState>
    </div>
  )
}
