import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import { fill, publishTitle } from "./fixtures";
import { countInSite, planWithoutAlarm } from "./site-fill";

/**
 * The site's fill alarm under faults and beside an operator's manual fill: it re-arms itself when a
 * run fails (the platform retries a throwing alarm only a few times), and it never copies again, or
 * loses, a copy an admin fill made while the plan's tasks waited. R2 faults are injected by swapping
 * the object's bucket binding for one whose calls throw (the local runtime cannot fail R2 on demand).
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

async function listed(siteId: string, titleId: string): Promise<string[]> {
  const r = await env.DB.prepare(`SELECT oca_id FROM oca_titles WHERE site_id = ? AND title_id = ? ORDER BY oca_id`)
    .bind(siteId, titleId)
    .all<{ oca_id: string }>();
  return r.results.map((x) => x.oca_id);
}

/** Replaces one bucket binding of the site object's env (`fault` wraps the real bucket); returns the undo. */
async function withBucket(siteId: string, name: "ORIGIN" | "TIER_NA" | "TIER_EU", fault: (real: R2Bucket) => Partial<R2Bucket>): Promise<() => Promise<void>> {
  await runInDurableObject(site(siteId), async (o: OcaSite) => {
    const real = env[name];
    const wrapped = {
      get: real.get.bind(real),
      head: real.head.bind(real),
      put: real.put.bind(real),
      list: real.list.bind(real),
      delete: real.delete.bind(real),
      ...fault(real),
    } as unknown as R2Bucket;
    (o as unknown as { env: Env }).env = { ...env, [name]: wrapped };
  });
  return () =>
    runInDurableObject(site(siteId), async (o: OcaSite) => {
      (o as unknown as { env: Env }).env = env;
    });
}

describe("the fill alarm under faults", () => {
  it("re-arms itself when a run fails on R2, and finishes the plan once R2 is back", async () => {
    const SITE = "lakeshore-chi";
    const ocaId = (await site(SITE).describe()).ocas[0].ocaId;
    const t = await publishTitle("alarm-rearm");
    const files = Object.keys(t.files).length;
    await planWithoutAlarm(SITE, { [ocaId]: ["alarm-rearm"] });
    // A copy cut off mid-way (a 'filling' row) must be cleaned up first, and R2's delete fails.
    await runInDurableObject(site(SITE), async (_o, state) => {
      state.storage.sql.exec(
        `INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at) VALUES (?, 'alarm-rearm', 'stranded', 'ab', 1, 'filling', NULL, 0)`,
        ocaId,
      );
    });
    const undo = await withBucket(SITE, "TIER_NA", () => ({
      delete: async () => {
        throw new Error("injected R2 delete fault");
      },
    }));
    await runInDurableObject(site(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(site(SITE))).toBe(true);
    const after = await runInDurableObject(site(SITE), async (o: OcaSite, state) => ({ alarm: await state.storage.getAlarm(), cycle: await o.lastCycle() }));
    expect(after.alarm).not.toBeNull();
    expect(after.cycle.progress.lastError).toMatch(/fill run stopped: .*injected R2 delete fault/);
    expect(after.cycle.progress.pending).toContainEqual(expect.objectContaining({ ocaId, files }));
    // R2 back: the alarms it armed finish the plan.
    await undo();
    for (let i = 0; i < 20 && (await runDurableObjectAlarm(site(SITE))); i++);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = 'alarm-rearm' AND state = 'ready'`, ocaId)).toBe(files);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE path = 'stranded'`)).toBe(0);
    expect(await listed(SITE, "alarm-rearm")).toEqual([ocaId]);
  });

  it("does not copy again a title an admin filled while the plan's tasks waited, even when the source then fails", async () => {
    const SITE = "polder-ams";
    const OCA = "polder-ams-1";
    const t = await publishTitle("alarm-after-admin");
    const files = Object.keys(t.files).length;
    await planWithoutAlarm(SITE, { [OCA]: ["alarm-after-admin"] });
    expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: ["alarm-after-admin"] }])).status).toBe(200);
    expect(await listed(SITE, "alarm-after-admin")).toEqual([OCA]);
    const copiesBefore = Object.values((await site(SITE).lastCycle()).progress.done).reduce((s, v) => s + v.files, 0);
    // Origin now fails every read of the title: a second copy would fail and take the first down.
    const undo = await withBucket(SITE, "ORIGIN", (real) => ({
      get: async (key: string, opts?: R2GetOptions) => {
        if (key.startsWith("alarm-after-admin/")) throw new Error("injected origin fault");
        return real.get(key, opts);
      },
    }));
    try {
      await runInDurableObject(site(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
      for (let i = 0; i < 5 && (await runDurableObjectAlarm(site(SITE))); i++);
    } finally {
      await undo();
    }
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = 'alarm-after-admin' AND state = 'ready'`, OCA)).toBe(
      files,
    );
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'alarm-after-admin'`)).toBe(0);
    expect(await listed(SITE, "alarm-after-admin")).toEqual([OCA]);
    const copiesAfter = Object.values((await site(SITE).lastCycle()).progress.done).reduce((s, v) => s + v.files, 0);
    expect(copiesAfter).toBe(copiesBefore);
  });

  it("gives back at once the room an admin fill took for the files it could not copy", async () => {
    const SITE = "ixp-ams";
    const ocaId = (await site(SITE).describe()).ocas[0].ocaId;
    await publishTitle("admin-partial");
    const usedBefore = (await site(SITE).describe()).ocas.find((o) => o.ocaId === ocaId)!.usedBytes;
    // Origin serves two of the title's files, then fails.
    let served = 0;
    const undo = await withBucket(SITE, "ORIGIN", (real) => ({
      get: async (key: string, opts?: R2GetOptions) => {
        if (key.startsWith("admin-partial/") && ++served > 2) throw new Error("injected origin fault");
        return real.get(key, opts);
      },
    }));
    let result: Awaited<ReturnType<OcaSite["fillTitle"]>>;
    try {
      result = await site(SITE).fillTitle(ocaId, "admin-partial");
    } finally {
      await undo();
    }
    expect(result).toMatchObject({ ok: false, code: "copy_failed" });
    const rows = await runInDurableObject(site(SITE), async (_o, state) =>
      state.storage.sql
        .exec<{ state: string; bytes: number }>(`SELECT state, bytes FROM holdings WHERE oca_id = ? AND title_id = 'admin-partial'`, ocaId)
        .toArray(),
    );
    expect(rows.map((r) => r.state)).toEqual(["ready", "ready"]);
    const usedAfter = (await site(SITE).describe()).ocas.find((o) => o.ocaId === ocaId)!.usedBytes;
    expect(usedAfter - usedBefore).toBe(rows.reduce((sum, r) => sum + r.bytes, 0));
  });
});

describe("the fill alarm when an OCA has no room", () => {
  const SITE = "rheinnet-ber";
  const PEER = "rheinnet-ber-1";
  const OCA = "rheinnet-ber-2";
  const tasks = (titleId: string) =>
    runInDurableObject(site(SITE), async (_o, state) =>
      state.storage.sql
        .exec<{ attempts: number; failed_sources: string; parked_at: number | null; next_at: number }>(
          `SELECT attempts, failed_sources, parked_at, next_at FROM fill_tasks WHERE oca_id = ? AND title_id = ?`,
          OCA,
          titleId,
        )
        .toArray(),
    );

  /** A title a peer OCA holds, planned on OCA, whose capacity then drops below anything it could take. */
  async function planWithoutRoom(titleId: string): Promise<void> {
    await publishTitle(titleId);
    expect((await fill([{ siteId: SITE, ocaId: PEER, titleIds: [titleId] }])).status).toBe(200);
    await planWithoutAlarm(SITE, { [OCA]: [titleId] });
    await site(SITE).setCapacity(OCA, 1);
  }

  /** Runs the alarm once now; returns how far ahead it re-armed itself. */
  async function alarmRun(): Promise<number> {
    await runInDurableObject(site(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(site(SITE))).toBe(true);
    const next = await runInDurableObject(site(SITE), (_o, state) => state.storage.getAlarm());
    return (next ?? Number.POSITIVE_INFINITY) - Date.now();
  }

  it("puts off a task whose OCA's capacity dropped after the plan for a minute, and never fails its source", async () => {
    await planWithoutRoom("no-room-after-plan");
    try {
      // Not a tick a second until the window closes: the next run is when the task comes due again.
      expect(await alarmRun()).toBeGreaterThan(30_000);
      expect((await site(SITE).lastCycle()).progress.lastError).toMatch(/no room/);
      const queued = await tasks("no-room-after-plan");
      expect(queued.length).toBeGreaterThan(0);
      for (const t of queued) expect(t).toMatchObject({ attempts: 0, failed_sources: "", parked_at: null });
      // A run before then finds nothing due and keeps the same distance.
      expect(await alarmRun()).toBeGreaterThan(30_000);
    } finally {
      await site(SITE).setCapacity(OCA, null);
    }
  });

  it("does not charge the source of a copy whose room another fill took after the check", async () => {
    await planWithoutRoom("no-room-taken");
    // The room check passes and the reservation then finds the room gone (a concurrent fill took it).
    // The OCA's budget full at 1 MB/s (5 MB, its burst), so a charge would show.
    await runInDurableObject(site(SITE), (o: OcaSite, state) => {
      (o as unknown as { makeRoom: () => Promise<boolean> }).makeRoom = async () => true;
      state.storage.sql.exec(
        `INSERT OR REPLACE INTO meta (key, value) VALUES ('fill_rate_bps', '8000000'), ('tokens:${OCA}', '5000000'), ('last_tick', ?)`,
        String(Date.now()),
      );
    });
    try {
      const ahead = await alarmRun();
      expect((await site(SITE).lastCycle()).progress.lastError).toMatch(/no room left/);
      const queued = await tasks("no-room-taken");
      expect(queued.length).toBeGreaterThan(0);
      // No attempt counted, the peer not skipped and no budget spent: it read no byte.
      for (const t of queued) expect(t).toMatchObject({ attempts: 0, failed_sources: "", parked_at: null });
      const tokens = await runInDurableObject(site(SITE), async (_o, state) =>
        Number(state.storage.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, `tokens:${OCA}`).one().value),
      );
      expect(tokens).toBe(5e6);
      expect(ahead).toBeGreaterThan(30_000);
    } finally {
      await runInDurableObject(site(SITE), (o: OcaSite) => {
        delete (o as unknown as { makeRoom?: unknown }).makeRoom;
      });
      await site(SITE).setCapacity(OCA, null);
    }
  });

  it("cleans up a cut-off run's rows without deleting a copy an operator's fill made of one of them meanwhile", async () => {
    const SITE = "lumen-lax";
    const ocaId = (await site(SITE).describe()).ocas[0].ocaId;
    const t = await publishTitle("strand-race");
    const [path] = Object.keys(t.files);
    // A cut-off run left rows half-evicted (another title) and one half-made (a file of strand-race).
    await runInDurableObject(site(SITE), async (_o, state) => {
      for (const p of ["a", "b", "c"])
        state.storage.sql.exec(
          `INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at) VALUES (?, 'strand-gone', ?, 'ab', 1, 'evicting', NULL, 0)`,
          ocaId,
          p,
        );
      state.storage.sql.exec(
        `INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at) VALUES (?, 'strand-race', ?, ?, 1, 'filling', NULL, 0)`,
        ocaId,
        path,
        t.sha[path],
      );
    });
    // Deletes take a while (deployed, a few a second): the operator's fill starts during the clean-up.
    const undo = await withBucket(SITE, "TIER_NA", (real) => ({
      delete: async (k: string | string[]) => {
        await new Promise((r) => setTimeout(r, 200));
        return real.delete(k);
      },
    }));
    try {
      await runInDurableObject(site(SITE), async (o: OcaSite) => {
        const cleanUp = (o as unknown as { dropStranded(): Promise<void> }).dropStranded();
        await new Promise((r) => setTimeout(r, 50));
        const filled = await o.fillTitle(ocaId, "strand-race");
        await cleanUp;
        expect(filled.ok).toBe(true);
      });
    } finally {
      await undo();
    }
    const files = Object.keys(t.files).length;
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = 'strand-race' AND state = 'ready'`, ocaId)).toBe(files);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE title_id = 'strand-gone'`)).toBe(0);
    // And the copy of the file the stranded row named is in R2.
    const { ocaKey } = await import("../shared/file-keys");
    expect(await env.TIER_NA.head(ocaKey(SITE, ocaId, "strand-race", path, t.sha[path]))).not.toBeNull();
  });
});
