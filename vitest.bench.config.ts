import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config";

// Timings for the capacity model (npm run bench:scale) on the same local runtime as the tests: kept out
// of `npm test`, which asserts behaviour, never time.
export default defineConfig(async (configEnv) => {
  const resolved = typeof base === "function" ? await base(configEnv) : await base;
  return mergeConfig(resolved, { test: { include: ["bench/workerd/*.test.ts"], testTimeout: 300_000 } });
});
