import { useQuery } from "@tanstack/react-query"

import { useDebouncedValue } from "@/hooks/useDebouncedValue"

export interface AvailabilityCheck<T> {
  /** The value is being typed or checked: no verdict yet. */
  checking: boolean
  /** The server's verdict on the current value, once it has one. */
  result: T | undefined
  error: unknown
}

export const CHECK_DELAY_MS = 300

/**
 * Checks a form value with the server as the user types: waits until typing pauses, cancels
 * checks of values already replaced, and never reports a verdict for an older value.
 */
export function useAvailability<T>(
  value: string,
  key: readonly unknown[],
  check: (value: string, signal: AbortSignal) => Promise<T>,
  options: { enabled?: boolean; delayMs?: number } = {},
): AvailabilityCheck<T> {
  const trimmed = value.trim()
  const debounced = useDebouncedValue(trimmed, options.delayMs ?? CHECK_DELAY_MS)
  const wanted = options.enabled ?? true
  const enabled = wanted && debounced !== ""
  const query = useQuery({
    queryKey: [...key, debounced],
    queryFn: ({ signal }) => check(debounced, signal),
    enabled,
    staleTime: 5_000,
    retry: false,
    refetchOnWindowFocus: false,
  })
  const settled = debounced === trimmed
  if (!wanted || trimmed === "") return { checking: false, result: undefined, error: null }
  return {
    checking: !settled || query.isFetching,
    result: settled ? query.data : undefined,
    error: settled ? query.error : null,
  }
}
