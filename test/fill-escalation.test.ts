import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import { MAX_ATTEMPTS } from "../durable-objects/site/fill-queue";
import { ADMIN, call, fill, openPlan, publishTitle, tierKey, type FixtureTitle } from "./fixtures";

/**
 * A copy that fails escalates peer -> parent -> origin, each failed source skipped the next time, and
 * is parked only once origin, the last resort, has failed too: a site whose popular title sits on more
 * OCAs than MAX_ATTEMPTS, all of whose copies of a file cannot be read, still fills it from origin.
 */

const SITE = "esc-six";
const OCAS = [1, 2, 3, 4, 5, 6].map((i) => `${SITE}-${i}`);
const TARGET = OCAS[5];
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));

let title: FixtureTitle;

beforeAll(async () => {
  title = await publishTitle("esc-title");
  // An IXP site of six OCAs (no parent: its sources are its peers, then origin).
  const res = await call("/admin/topology/sites", {
    method: "POST",
    headers: { ...ADMIN, "Content-Type": "application/json" },
    body: JSON.stringify({
      id: SITE,
      name: "Six OCAs",
      tier: "ixp",
      region: "eu",
      country: "FR",
      lat: 48.86,
      lon: 2.35,
      timeZone: "Europe/Paris",
      ocas: OCAS.map((id) => ({ id, capacityBytes: 400_000_000, throughputBps: 10_000_000_000 })),
    }),
  });
  expect(res.status).toBe(201);
});

describe("a copy whose every peer copy fails", () => {
  it("is tried from origin before it is parked, however many peers hold it", async () => {
    // Five OCAs hold the title: more peers than a task has attempts.
    for (const ocaId of OCAS.slice(0, 5)) expect((await fill([{ siteId: SITE, ocaId, titleIds: [title.titleId] }])).status).toBe(200);
    expect(OCAS.length - 1).toBeGreaterThanOrEqual(MAX_ATTEMPTS);
    // Every peer's copy of the master playlist cannot be read.
    const bad = new Set(OCAS.slice(0, 5).map((ocaId) => tierKey(SITE, ocaId, title, "master.m3u8")));
    await runInDurableObject(site(), async (o: OcaSite, state) => {
      const real = env.TIER_EU;
      const wrapped = {
        get: async (key: string, opts?: R2GetOptions) => {
          if (bad.has(key)) throw new Error("injected peer read fault");
          return real.get(key, opts);
        },
        head: real.head.bind(real),
        put: real.put.bind(real),
        list: real.list.bind(real),
        delete: real.delete.bind(real),
      } as unknown as R2Bucket;
      (o as unknown as { env: Env }).env = { ...env, TIER_EU: wrapped };
      await o.applyPlan(openPlan({ [TARGET]: [title.titleId] }));
      await state.storage.deleteAlarm();
    });
    for (let i = 0; i < 2 * MAX_ATTEMPTS + 2; i++) {
      await runInDurableObject(site(), async (_o, state) => {
        state.storage.sql.exec(`UPDATE fill_tasks SET next_at = 0`);
        await state.storage.setAlarm(Date.now());
      });
      await runDurableObjectAlarm(site());
    }
    const got = await runInDurableObject(site(), async (o: OcaSite, state) => {
      (o as unknown as { env: Env }).env = env;
      return {
        master: state.storage.sql
          .exec<{ state: string; source: string }>(`SELECT state, source FROM holdings WHERE oca_id = ? AND path = 'master.m3u8'`, TARGET)
          .toArray(),
        tasks: state.storage.sql.exec<{ attempts: number; parked_at: number | null }>(`SELECT attempts, parked_at FROM fill_tasks`).toArray(),
      };
    });
    expect(got.tasks).toEqual([]);
    expect(got.master).toEqual([{ state: "ready", source: "origin" }]);
  });
});
