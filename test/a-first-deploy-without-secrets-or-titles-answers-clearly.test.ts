import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../workers/index";
import { runScheduledFill } from "../workers/control/fill-cycle";
import { validate } from "../workers/control/admin/topology";
import { bundledTopology } from "../workers/shared/topology";
import { WITHDRAWN_KEY } from "../shared/file-keys";
import { fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * A first `wrangler deploy`: migrations applied, no title published yet, and (when the operator deploys
 * before `wrangler secret put`, or mistypes a name) no secrets. Every route that needs a secret answers
 * 503 `not_configured` in the error shape, never a crash and never an open door; the hourly cron runs
 * over the empty catalogue without an error; and the bundled topology is one the admin API would accept,
 * naming only R2 buckets wrangler.toml binds.
 */

const NO_SECRETS = { DEV_MODE: "false", MEMBER_JWT_SECRET: undefined, URL_SIGNING_KEYS: undefined, ADMIN_TOKEN: undefined };

async function unconfigured(path: string, init: RequestInit = {}): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://cdn.test${path}`, init), { ...env, ...NO_SECRETS }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

describe("a Worker deployed before its secrets", () => {
  it("answers every route that needs a secret 503 not_configured, whatever the caller sends", async () => {
    const t = "first-deploy-title";
    await publishTitle(t);
    expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [t] }])).status).toBe(200);
    const member = await memberToken("premium");
    const play = (await (await pressPlay(member, { titleId: t }, GEO.lumenNyc)).json()) as PlayResponse;
    const json = { "Content-Type": "application/json" };
    const cases: Array<[string, RequestInit]> = [
      ["/v1/play", { method: "POST", headers: { ...json, Authorization: `Bearer ${member}` }, body: JSON.stringify({ titleId: t }) }],
      ["/v1/titles", { headers: { Authorization: `Bearer ${member}` } }],
      ["/admin/topology", { headers: { Authorization: "Bearer test-admin-token" } }],
      ["/admin/topology", {}],
      ["/admin/titles/first-deploy-title", { method: "DELETE", headers: { Authorization: "Bearer anything-at-all-0123456789" } }],
      [`${new URL(play.ocas[0].url).pathname}master.m3u8`, {}],
      [`/v1/steering/${play.sessionToken}/${t}/steering.json`, {}],
    ];
    for (const [path, init] of cases) {
      const r = await unconfigured(path, init);
      expect(r.status, path).toBe(503);
      expect(r.body.error?.code, path).toBe("not_configured");
    }
    // Nothing was taken down by the admin call above.
    const still = await pressPlay(await memberToken("premium"), { titleId: t }, GEO.lumenNyc);
    expect(still.status).toBe(200);
  });

  it("runs the hourly cron over an empty catalogue without an error, and writes origin's withdrawn list", async () => {
    // 08:00 UTC: inside the default 02:00-14:00 local fill window of the New York and European sites.
    const d = new Date();
    const now = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 8);
    const reports = await runScheduledFill({ ...env, ...NO_SECRETS }, now);
    expect(reports.filter((r) => r.ran).map((r) => r.siteId)).toContain("lumen-nyc");
    expect(reports.filter((r) => !r.ran && r.reason?.startsWith("error"))).toEqual([]);
    const ctx = createExecutionContext();
    await worker.scheduled({ scheduledTime: now, cron: "0 * * * *", noRetry() {} } as ScheduledController, { ...env, ...NO_SECRETS }, ctx);
    await waitOnExecutionContext(ctx);
    const list = await env.ORIGIN.get(WITHDRAWN_KEY);
    expect(list).not.toBeNull();
    expect(JSON.parse(await list!.text())).toMatchObject({ titles: [], licences: [] });
  });
});

describe("the bundled topology (config/topology.json)", () => {
  it("is one the admin API would accept, and names only R2 buckets wrangler.toml binds", () => {
    const topo = bundledTopology();
    expect(() => validate(topo)).not.toThrow();
    const bindings = env as unknown as Record<string, unknown>;
    for (const bucket of [topo.origin.bucket, ...topo.regions.map((r) => r.bucket)]) {
      expect(bindings[bucket], bucket).toBeDefined();
      expect(typeof (bindings[bucket] as R2Bucket).list, bucket).toBe("function");
    }
  });
});
