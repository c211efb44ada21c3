import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Worker tests run inside workerd with the local R2, D1 and Durable Objects of wrangler.toml.
// Secrets are test-only values; DEV_MODE is on so tests can simulate client location.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            DEV_MODE: "true",
            MEMBER_JWT_SECRET: "test-member-secret-0123456789",
            URL_SIGNING_KEYS: JSON.stringify({ k1: "test-url-key-one-0123456789", k0: "test-url-key-old-0123456789" }),
            ADMIN_TOKEN: "test-admin-token",
            // Tests change the catalogue and the steering view and press play right after: read D1 every
            // time. test/catalogue-cache.test.ts runs the deployed default (5 s) through an env override.
            CATALOGUE_TTL_S: "0",
            // Admin fills copy a title in calls of 3 files, so every fill in the tests takes several calls.
            FILL_FILES_PER_CALL: "3",
            // Each session's entry rides the next sync (deployed: at most one per 12 s, which
            // test/session-entry-pace.test.ts runs through an env override).
            SESSION_ENTRY_EVERY_S: "0",
            TEST_MIGRATIONS: migrations,
          },
          // The per-IP steering and play limiters at 50 (12,000 and 1,200 deployed), so a test can exhaust them in a moment.
          ratelimits: {
            STEERING_PER_IP: { namespace_id: "1006", simple: { limit: 50, period: 60 } },
            PLAY_PER_IP: { namespace_id: "1002", simple: { limit: 50, period: 60 } },
          },
        },
      }),
    ],
    test: {
      include: ["test/*.test.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      testTimeout: 30_000,
      // Hooks set up state through real objects and D1; on a loaded CI machine 10 s was not enough.
      hookTimeout: 30_000,
    },
  };
});
