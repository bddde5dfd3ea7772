import { defineConfig } from "vite";

// The console is served by `retailflow serve` from its embedded copy (console/CMakeLists.txt):
// relative-free absolute paths under /assets/, hashed names (cached as immutable), no inline
// scripts or styles (the service's Content-Security-Policy refuses them), no source maps.
export default defineConfig({
  base: "/",
  build: {
    target: "es2022",
    assetsDir: "assets",
    assetsInlineLimit: 0,
    sourcemap: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2000,
  },
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
