/// <reference types="vitest/config" />
import { fileURLToPath, URL } from "node:url"

import tailwindcss from "@tailwindcss/vite"
import react from "@vitejs/plugin-react"
import { defineConfig } from "vite"

// The Craftastic server the dev server forwards `/api` (HTTP and terminal WebSockets) to.
const api = process.env.CRAFTASTIC_API ?? "http://localhost:3000"

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: {
    alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) },
  },
  server: {
    proxy: {
      // The Host header is kept as the browser sent it (no changeOrigin), so the server's
      // terminal origin check sees Origin and Host agree, as they do in production.
      "/api": { target: api, ws: true },
    },
  },
  preview: {
    proxy: {
      "/api": { target: api, ws: true },
    },
  },
  build: {
    outDir: "dist",
    sourcemap: false,
    rollupOptions: {
      output: {
        // Libraries change less often than the app: their own chunks stay cached across
        // releases. xterm.js is left out so that it stays in the lazy terminal chunk.
        manualChunks(id) {
          if (!id.includes("/node_modules/") || id.includes("/node_modules/@xterm/")) return undefined
          if (/\/node_modules\/(react|react-dom|scheduler|react-router)\//.test(id)) return "react"
          return "vendor"
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
})
