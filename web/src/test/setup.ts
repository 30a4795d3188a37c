import "@testing-library/jest-dom/vitest"
import { cleanup } from "@testing-library/react"
import { afterEach, vi } from "vitest"

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
  localStorage.clear()
  sessionStorage.clear()
})

// jsdom lacks these; Radix's popper and the terminal page use them.
class NoopResizeObserver {
  observe() {
    /* nothing to observe in jsdom */
  }
  unobserve() {
    /* nothing to observe in jsdom */
  }
  disconnect() {
    /* nothing to observe in jsdom */
  }
}
if (!("ResizeObserver" in globalThis)) {
  Object.defineProperty(globalThis, "ResizeObserver", { value: NoopResizeObserver, writable: true })
}
if (!("scrollIntoView" in Element.prototype)) {
  Object.defineProperty(Element.prototype, "scrollIntoView", {
    value: () => {
      /* jsdom does no layout */
    },
  })
}
// Radix Select asks for pointer capture when it opens.
if (!("hasPointerCapture" in Element.prototype)) {
  Object.defineProperty(Element.prototype, "hasPointerCapture", { value: () => false })
  Object.defineProperty(Element.prototype, "releasePointerCapture", {
    value: () => {
      /* no pointers in jsdom */
    },
  })
}
