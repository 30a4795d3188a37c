import { useQuery } from "@tanstack/react-query"

import { ErrorState } from "@/components/States"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Skeleton } from "@/components/ui/skeleton"
import { apiCalls } from "@/lib/api/endpoints"
import { queryKeys } from "@/lib/queries"
import { cn } from "@/lib/utils"
import { LIMITS } from "@/features/settings/limits"

/** What the signed-in user has against their limits ("3 of 20 environments"). */
export function UsageCard() {
  const limits = useQuery({ queryKey: queryKeys.myLimits, queryFn: ({ signal }) => apiCalls.myLimits(signal) })
  return (
    <Card data-testid="usage-card">
      <CardHeader>
        <CardTitle>Usage</CardTitle>
        <CardDescription>What you have, and the most this server allows you. An admin can raise a limit.</CardDescription>
      </CardHeader>
      <CardContent>
        {limits.isPending ? (
          <div className="space-y-3">
            {LIMITS.map((l) => (
              <Skeleton key={l.key} className="h-5 w-64 max-w-full" />
            ))}
          </div>
        ) : limits.isError ? (
          <ErrorState error={limits.error} title="Could not load your usage" onRetry={() => void limits.refetch()} />
        ) : (
          <dl className="grid gap-x-6 gap-y-3 text-sm sm:grid-cols-[12rem_1fr]">
            {LIMITS.map(({ key, label }) => {
              const used = limits.data.usage[key]
              const max = limits.data.limits[key]
              return (
                <div key={key} className="contents">
                  <dt className="text-muted-foreground">{label}</dt>
                  <dd data-testid={`usage-${key}`} className={cn(used >= max && "text-destructive font-medium")}>
                    {used} of {max}
                  </dd>
                </div>
              )
            })}
          </dl>
        )}
      </CardContent>
    </Card>
  )
}
