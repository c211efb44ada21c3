import { defineConfig } from "vitest/config";

// End-to-end tests run on Node: they start the real Worker with `wrangler dev` and point real
// clients (ffmpeg, later Chromium) at it.
export default defineConfig({
  test: {
    include: ["test/e2e/*.test.ts"],
    environment: "node",
    testTimeout: 180_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
