import { describe, expect, it } from "vitest";
import { deployChecks, isReservedAsn, PLACEHOLDER_DATABASE_ID, type DeployConfig } from "../scripts/deploy-checks";
import { bundledTopology } from "../workers/shared/topology";

/**
 * `npm run deploy` runs scripts/deploy-preflight.ts before `wrangler deploy`: wrangler's own dry run
 * passes the placeholder D1 id, DEV_MODE "true" and a topology region whose bucket is not bound, and the
 * deploy then fails at the API or ships dev mode. The preflight refuses each, and warns that the demo
 * topology's ISPs match no real client.
 */

/** wrangler.toml as the repository ships it, the parts the checks read. */
const shipped = (): DeployConfig => ({
  d1_databases: [{ binding: "DB", database_id: PLACEHOLDER_DATABASE_ID }],
  r2_buckets: [{ binding: "ORIGIN" }, { binding: "TIER_NA" }, { binding: "TIER_EU" }],
  vars: { DEV_MODE: "false", URL_SIGNING_KID: "k1" },
  triggers: { crons: ["0 * * * *"] },
});
const ready = (): DeployConfig => ({ ...shipped(), d1_databases: [{ binding: "DB", database_id: "3f1c2a9e-1b2c-4d5e-8f90-123456789abc" }] });

describe("the deploy preflight", () => {
  it("refuses the placeholder D1 database_id, naming the command that prints the real one", () => {
    const { errors } = deployChecks(shipped(), bundledTopology());
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(PLACEHOLDER_DATABASE_ID);
    expect(errors[0]).toContain("wrangler d1 create vcdn");
    expect(deployChecks({ ...shipped(), d1_databases: [] }, bundledTopology()).errors[0]).toContain("binds no D1 database as DB");
  });

  it("passes wrangler.toml once the database_id is real", () => {
    expect(deployChecks(ready(), bundledTopology()).errors).toEqual([]);
  });

  it.each([["true"], ["TRUE"], [""], [undefined]])('refuses DEV_MODE=%j: only "false" ships', (devMode) => {
    const { errors } = deployChecks({ ...ready(), vars: { URL_SIGNING_KID: "k1", DEV_MODE: devMode } }, bundledTopology());
    expect(errors.some((e) => e.startsWith("DEV_MODE"))).toBe(true);
  });

  it("refuses a URL_SIGNING_KID that is not a key id (a secret pasted in the wrong place)", () => {
    const { errors } = deployChecks({ ...ready(), vars: { DEV_MODE: "false", URL_SIGNING_KID: "9f86d081884c7d659a2feaa0c55ad015" } }, bundledTopology());
    expect(errors.some((e) => e.startsWith("URL_SIGNING_KID"))).toBe(true);
  });

  it("refuses a topology region whose bucket wrangler.toml does not bind", () => {
    const topo = bundledTopology();
    topo.regions.push({ id: "apac", name: "Asia Pacific", bucket: "TIER_APAC" });
    const { errors } = deployChecks(ready(), topo);
    expect(errors).toEqual([expect.stringContaining("region apac names R2 binding TIER_APAC")]);
    const noOrigin = deployChecks({ ...ready(), r2_buckets: [{ binding: "TIER_NA" }, { binding: "TIER_EU" }] }, bundledTopology());
    expect(noOrigin.errors).toEqual([expect.stringContaining("origin origin names R2 binding ORIGIN")]);
  });

  it("warns that the demo topology's ISPs match no real client, and not once an ISP has a real ASN", () => {
    const demo = deployChecks(ready(), bundledTopology());
    expect(demo.warnings).toEqual([expect.stringContaining("demo topology")]);
    const topo = bundledTopology();
    topo.isps[0].asns = [7922];
    expect(deployChecks(ready(), topo).warnings).toEqual([]);
    expect([64496, 64500, 64530, 65534, 65551, 4_200_000_000].every(isReservedAsn)).toBe(true);
    expect([7922, 3320, 65535, 64495, 4_294_967_295].some(isReservedAsn)).toBe(false);
  });

  it("warns when no cron trigger is configured", () => {
    expect(deployChecks({ ...ready(), triggers: { crons: [] } }, bundledTopology()).warnings).toContainEqual(expect.stringContaining("no cron trigger"));
  });
});
