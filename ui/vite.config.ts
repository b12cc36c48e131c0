import { defineConfig } from "vite";

// Relative asset paths: the same build is loaded by the Tauri shell and served by `simba-tuner serve`.
export default defineConfig({
  base: "./",
  esbuild: { jsx: "automatic" },
  test: { environment: "jsdom" },
} as any);
