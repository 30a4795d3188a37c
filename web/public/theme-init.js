// Applies the stored theme (or the system's) before React starts, so a dark page never
// flashes white. Kept in step with src/lib/theme/theme.ts.
;(function () {
  try {
    var stored = localStorage.getItem("craftastic.theme")
    var dark =
      stored === "dark" ||
      (stored !== "light" && window.matchMedia("(prefers-color-scheme: dark)").matches)
    document.documentElement.classList.toggle("dark", dark)
  } catch {
    /* storage unavailable: the app applies the system theme once it starts */
  }
})()
