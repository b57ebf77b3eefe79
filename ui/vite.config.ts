import { defineConfig } from "vite";

// The Tauri shell loads http://localhost:1420 in development and ui/dist in release builds.
// Only index.html is a build input: test.html (the fake-backend entry) never reaches the bundle.
// JSX is compiled by Vite's built-in transform (tsconfig "jsx": "react-jsx"). No React plugin: its
// Fast Refresh preamble is an inline script, which the app's Content Security Policy would refuse.
export default defineConfig({
  clearScreen: false,
  // The fake backend (tests only) imports the référentiel from ../reference.
  server: { port: 1420, strictPort: true, fs: { allow: [".", "../reference"] } },
  optimizeDeps: {
    entries: ["index.html", "test.html"],
    include: [
      "react",
      "react-dom/client",
      "react/jsx-runtime",
      "react/jsx-dev-runtime",
      "react-aria-components",
      "@tauri-apps/api/core",
      "@tauri-apps/api/mocks",
    ],
  },
  build: {
    outDir: "dist",
    target: "es2022",
    emptyOutDir: true,
    rollupOptions: { input: "index.html" },
  },
});
