import { QueryClient, QueryClientProvider } from "@tanstack/react-query"
import { act, renderHook } from "@testing-library/react"
import type { ReactNode } from "react"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"

import { useAvailability } from "@/hooks/useAvailability"

function wrapper({ children }: { children: ReactNode }) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>
}

beforeEach(() => {
  vi.useFakeTimers({ shouldAdvanceTime: false })
})
afterEach(() => {
  vi.useRealTimers()
})

describe("useAvailability", () => {
  it("checks only once typing pauses, and only the last value", async () => {
    const check = vi.fn((value: string) => Promise.resolve({ available: value !== "taken", reason: "in use" }))
    const { result, rerender } = renderHook(({ value }) => useAvailability(value, ["k"], check), {
      wrapper,
      initialProps: { value: "" },
    })
    expect(result.current.checking).toBe(false)
    rerender({ value: "t" })
    expect(result.current.checking).toBe(true)
    rerender({ value: "ta" })
    rerender({ value: "taken" })
    await act(() => vi.advanceTimersByTimeAsync(299))
    expect(check).not.toHaveBeenCalled()
    await act(() => vi.advanceTimersByTimeAsync(1))
    await act(() => vi.advanceTimersByTimeAsync(0))
    expect(check).toHaveBeenCalledTimes(1)
    expect(check.mock.calls[0]?.[0]).toBe("taken")
    expect(result.current).toMatchObject({ checking: false, result: { available: false, reason: "in use" } })
  })

  it("does not show a verdict for a value that has since changed", async () => {
    const check = vi.fn(() => Promise.resolve({ available: true }))
    const { result, rerender } = renderHook(({ value }) => useAvailability(value, ["k2"], check), {
      wrapper,
      initialProps: { value: "one" },
    })
    await act(() => vi.advanceTimersByTimeAsync(300))
    await act(() => vi.advanceTimersByTimeAsync(0))
    expect(result.current.result).toEqual({ available: true })
    rerender({ value: "two" })
    expect(result.current).toMatchObject({ checking: true, result: undefined })
  })

  it("checks a value that is there from the start at once", async () => {
    const check = vi.fn(() => Promise.resolve({ available: true }))
    const { result } = renderHook(() => useAvailability("main", ["k4"], check), { wrapper })
    await act(() => vi.advanceTimersByTimeAsync(0))
    expect(check).toHaveBeenCalledTimes(1)
    expect(result.current.result).toEqual({ available: true })
  })

  it("checks nothing for an empty value", () => {
    const check = vi.fn(() => Promise.resolve({ available: true }))
    const { result } = renderHook(() => useAvailability("  ", ["k3"], check), { wrapper })
    expect(result.current).toEqual({ checking: false, result: undefined, error: null })
    expect(check).not.toHaveBeenCalled()
  })
})
