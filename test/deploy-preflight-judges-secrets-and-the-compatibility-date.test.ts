import { describe, expect, it } from "vitest";
import {
  compatibilityDateChecks,
  deployChecks,
  deployedSecretChecks,
  PLACEHOLDER_DATABASE_ID,
  parseSecretsFile,
  secretChecks,
  weakSecret,
  workerdDate,
  type DeployConfig,
} from "../scripts/deploy-checks";
import { parseDevVars } from "../ingest/dev-vars";
import { bundledTopology } from "../workers/shared/topology";

/**
 * The preflight judges what the Worker only floors at 16 characters: a deploy's secrets must be long,
 * random-looking, distinct, not a placeholder or a local dev value, and URL_SIGNING_KEYS a well-formed
 * rotation ring holding the signing key id. Messages never quote a secret.
 */

const hex = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
const strong = () =>
  new Map([
    ["MEMBER_JWT_SECRET", hex(32)],
    ["ADMIN_TOKEN", hex(24)],
    ["URL_SIGNING_KEYS", JSON.stringify({ k2: hex(32), k1: hex(32) })],
  ]);
const ready = (vars: Record<string, unknown> = {}): DeployConfig => ({
  d1_databases: [{ binding: "DB", database_id: "3f1c2a9e-1b2c-4d5e-8f90-123456789abc" }],
  r2_buckets: [{ binding: "ORIGIN" }, { binding: "TIER_NA" }, { binding: "TIER_EU" }],
  vars: { DEV_MODE: "false", URL_SIGNING_KID: "k1", ...vars },
  triggers: { crons: ["0 * * * *"] },
});

describe("the deploy preflight's secret checks", () => {
  it("passes strong secrets and a rotation ring (k2 signs, k1 kept to verify the URLs it signed)", () => {
    expect(secretChecks(strong(), "k2")).toEqual([]);
    expect(secretChecks(strong(), "k1")).toEqual([]);
  });

  it("refuses each missing or empty secret by name", () => {
    const errors = secretChecks(new Map([["ADMIN_TOKEN", ""]]), "k1");
    expect(errors).toEqual(["secret MEMBER_JWT_SECRET is not set", "secret URL_SIGNING_KEYS is not set", "secret ADMIN_TOKEN is not set"]);
  });

  it.each([
    ["the tests' admin token", "test-admin-token"],
    ["a 16-character value the Worker itself would take", "0f3a9c27b5e1d846"],
    ["a placeholder", "changeme-changeme-changeme-0123456"],
    ["a documentation example", "example-admin-Xq7Zp2Lm9Rt4Wv8Yk3Bn"],
    ["the README's template", "<32+ random bytes, hex>-xxxxxxxxxxxx"],
    ["a counting run", "0123456789abcdef0123456789abcdef"],
    ["a repeated word", "Summer2026Summer2026Summer2026Summer"],
    ["one character", "a".repeat(64)],
    ["a trailing newline", `${hex(24)}\n`],
  ])("refuses %s as ADMIN_TOKEN without quoting it", (_, value) => {
    const secrets = strong();
    secrets.set("ADMIN_TOKEN", value);
    const errors = secretChecks(secrets, "k1");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^ADMIN_TOKEN /);
    expect(errors[0]).not.toContain(value.trim());
  });

  it("refuses a value of the local .dev.vars, and one value used for two roles or two keys", () => {
    const secrets = strong();
    expect(secretChecks(secrets, "k1", new Set([secrets.get("ADMIN_TOKEN")!]))).toEqual([
      expect.stringContaining("ADMIN_TOKEN is a value of the local .dev.vars"),
    ]);
    secrets.set("ADMIN_TOKEN", secrets.get("MEMBER_JWT_SECRET")!);
    expect(secretChecks(secrets, "k1")).toEqual(["ADMIN_TOKEN is the same value as MEMBER_JWT_SECRET: each secret and key gets its own"]);
    const same = hex(32);
    secrets.set("ADMIN_TOKEN", hex(24));
    secrets.set("URL_SIGNING_KEYS", JSON.stringify({ k2: same, k1: same }));
    expect(secretChecks(secrets, "k2")).toEqual([expect.stringContaining("URL_SIGNING_KEYS key k1 is the same value as URL_SIGNING_KEYS key k2")]);
  });

  it("refuses a ring that is not JSON, not an object, lacks the signing key id, names a reserved id, holds a weak old key, or too many keys", () => {
    const with_ = (ring: string, kid = "k1") => {
      const s = strong();
      s.set("URL_SIGNING_KEYS", ring);
      return secretChecks(s, kid);
    };
    expect(with_("k1=abc")).toEqual([expect.stringContaining("not JSON")]);
    expect(with_(JSON.stringify([hex(32)]))).toEqual([expect.stringContaining("JSON object")]);
    expect(with_(JSON.stringify({ k2: hex(32) }))).toEqual([expect.stringContaining("has no key k1 (URL_SIGNING_KID")]);
    expect(with_(JSON.stringify({ k1: hex(32), constructor: hex(32) }))).toEqual([expect.stringContaining("key id number 2")]);
    expect(with_(JSON.stringify({ k1: hex(32), k0: "old-key-0123456789" }))).toEqual([expect.stringContaining("URL_SIGNING_KEYS key k0 is shorter")]);
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, hex(32)]));
    expect(with_(JSON.stringify(many))).toEqual([expect.stringContaining("holds 9 keys: at most 8")]);
  });

  it("takes the two formats `wrangler deploy --secrets-file` takes", () => {
    const json = parseSecretsFile('{"ADMIN_TOKEN":"a","N":1}', parseDevVars);
    expect([...json]).toEqual([["ADMIN_TOKEN", "a"]]);
    expect(parseSecretsFile("ADMIN_TOKEN='b'\n", parseDevVars).get("ADMIN_TOKEN")).toBe("b");
  });

  it("refuses a Worker whose secret list lacks one (values cannot be read back)", () => {
    expect(deployedSecretChecks(["ADMIN_TOKEN", "URL_SIGNING_KEYS", "MEMBER_JWT_SECRET"])).toEqual([]);
    expect(deployedSecretChecks(["ADMIN_TOKEN"])).toEqual([expect.stringContaining("MEMBER_JWT_SECRET"), expect.stringContaining("URL_SIGNING_KEYS")]);
  });

  it("accepts values as `openssl rand -hex 16` makes them (the floor is not a coin toss)", () => {
    for (let i = 0; i < 2000; i++) expect(weakSecret(hex(16))).toBeNull();
  });
});

describe("the deploy preflight's wrangler.toml checks", () => {
  it.each(["constructor", "prototype"])("refuses URL_SIGNING_KID %j: it fits the pattern but the Worker refuses it (every play 503)", (kid) => {
    expect(deployChecks(ready({ URL_SIGNING_KID: kid }), bundledTopology()).errors).toEqual([expect.stringMatching(/^URL_SIGNING_KID/)]);
  });

  it("refuses a secret written into [vars], without quoting it", () => {
    const { errors } = deployChecks(ready({ ADMIN_TOKEN: "0f3a9c27b5e1d8460f3a9c27b5e1d846" }), bundledTopology());
    expect(errors).toEqual([expect.stringContaining("ADMIN_TOKEN is in wrangler.toml [vars]")]);
    expect(errors[0]).not.toContain("0f3a9c27");
    expect(deployChecks({ ...ready(), d1_databases: [{ binding: "DB", database_id: PLACEHOLDER_DATABASE_ID }] }, bundledTopology()).errors).toHaveLength(1);
  });

  it("refuses a compatibility date in the future, past the installed workerd, or not a date", () => {
    expect(workerdDate("1.20261117.1")).toBe("2026-11-17");
    expect(workerdDate("2.0.0")).toBeNull();
    expect(compatibilityDateChecks("2026-11-01", "2026-12-07", "2026-11-17")).toEqual([]);
    expect(compatibilityDateChecks("2026-12-08", "2026-12-07", "2026-12-31")).toEqual([expect.stringContaining("after today")]);
    expect(compatibilityDateChecks("2026-11-20", "2026-12-07", "2026-11-17")).toEqual([expect.stringContaining("newer than the installed workerd")]);
    expect(compatibilityDateChecks("2026-13-01", "2026-12-07", null)).toEqual([expect.stringContaining("not a YYYY-MM-DD")]);
    expect(compatibilityDateChecks(undefined, "2026-12-07", null)).toHaveLength(1);
  });
});
