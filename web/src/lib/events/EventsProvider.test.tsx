import { QueryClient, QueryClientProvider } from "@tanstack/react-query"
import { render, waitFor } from "@testing-library/react"
import { useEffect } from "react"
import { describe, expect, it } from "vitest"

import type { Notice } from "@/lib/api/types"
import { AuthProvider } from "@/lib/auth/AuthProvider"
import { EventsProvider } from "@/lib/events/EventsProvider"
import { useLive } from "@/lib/events/live"
import { mockFetch, signIn } from "@/test/render"

const NOTICE: Notice = {
  sessionId: "s1",
  environmentId: "e1",
  state: "waiting",
  title: "api waits for you",
  text: "Craftastic: api in shop waits for you",
}

/** An event stream that sends `text` and stays open. */
function stream(text: string): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text))
    },
  })
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } })
}

function Listener({ got }: { got: Notice[] }) {
  const { subscribeNotices } = useLive()
  useEffect(() => subscribeNotices((notice) => got.push(notice)), [subscribeNotices, got])
  return null
}

describe("EventsProvider", () => {
  it("hands each notification of the stream to the listeners of notices", async () => {
    signIn()
    mockFetch((url) =>
      url === "/api/events"
        ? stream(`event: ready\ndata: {}\n\nevent: notification\ndata: ${JSON.stringify(NOTICE)}\n\n`)
        : undefined,
    )
    const got: Notice[] = []
    const view = render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <AuthProvider>
          <EventsProvider>
            <Listener got={got} />
          </EventsProvider>
        </AuthProvider>
      </QueryClientProvider>,
    )
    await waitFor(() => {
      expect(got).toEqual([NOTICE])
    })
    view.unmount()
  })
})
