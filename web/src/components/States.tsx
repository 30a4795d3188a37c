import { CircleAlert, RefreshCw } from "lucide-react"
import type { ReactNode } from "react"

import { Button } from "@/components/ui/button"
import { describeError } from "@/lib/api/errors"
import { cn } from "@/lib/utils"

export function EmptyState({
  icon,
  title,
  children,
  action,
  className,
  ...props
}: {
  icon?: ReactNode
  title: string
  children?: ReactNode
  action?: ReactNode
  className?: string
} & Omit<React.ComponentProps<"div">, "title">) {
  return (
    <div
      className={cn(
        "flex flex-col items-center justify-center gap-3 rounded-xl border border-dashed px-6 py-12 text-center",
        className,
      )}
      {...props}
    >
      {icon && (
        <div className="bg-muted text-muted-foreground flex size-12 items-center justify-center rounded-full [&_svg]:size-6">
          {icon}
        </div>
      )}
      <div className="space-y-1">
        <h2 className="text-base font-semibold">{title}</h2>
        {children && <div className="text-muted-foreground max-w-md text-sm">{children}</div>}
      </div>
      {action}
    </div>
  )
}

export function ErrorState({
  error,
  title = "Could not load this",
  onRetry,
  className,
}: {
  error: unknown
  title?: string
  onRetry?: () => void
  className?: string
}) {
  return (
    <div
      role="alert"
      className={cn(
        "border-destructive/30 bg-destructive/5 flex flex-col items-start gap-3 rounded-xl border p-5 sm:flex-row sm:items-center",
        className,
      )}
    >
      <CircleAlert className="text-destructive size-5 shrink-0" aria-hidden />
      <div className="flex-1 space-y-0.5">
        <p className="font-medium">{title}</p>
        <p className="text-muted-foreground text-sm">{describeError(error)}</p>
      </div>
      {onRetry && (
        <Button variant="outline" size="sm" onClick={onRetry}>
          <RefreshCw aria-hidden />
          Try again
        </Button>
      )}
    </div>
  )
}

export function FormError({ message, ...props }: { message: string | null | undefined } & React.ComponentProps<"div">) {
  if (!message) return null
  return (
    <div
      role="alert"
      className="border-destructive/30 bg-destructive/5 text-destructive flex items-start gap-2 rounded-md border px-3 py-2 text-sm"
      {...props}
    >
      <CircleAlert className="mt-0.5 size-4 shrink-0" aria-hidden />
      <span>{message}</span>
    </div>
  )
}
