import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import { originKey } from "../shared/file-keys";
import { publishTitle, tierKey, type FixtureTitle } from "./fixtures";
import { countInSite, planWithoutAlarm, siteObject } from "./site-fill";

/**
 * The fill alarm when a source stops making progress: a read whose body hangs half-way, or whose
 * answer never comes. The copy is given up (the alarm run ends, the rest of the queue is copied), the
 * failure is recorded against the source with a backoff, nothing of the half-made copy is left (no
 * row, no object), and a later run copies the file once the source answers. The source is faulted by
 * swapping the object's ORIGIN binding (the local runtime cannot make R2 hang on demand), and the
 * object's stall limit is shortened so the test does not wait the production 30 s.
 */

const SITE = "polder-ams";
const OCA = "polder-ams-1";
const STALLED = "video/avc-720p/seg-00001.m4s";
/** Longer than any copy given up at the shortened limit takes, far shorter than a hung one. */
const ALARM_DEADLINE_MS = 15_000;

type Fault = (real: R2Bucket, key: string) => Promise<R2ObjectBody | null> | undefined;

/** Routes the site object's origin reads through `fault` (undefined: the real read); returns the undo. */
async function faultOrigin(fault: Fault): Promise<() => Promise<void>> {
  await runInDurableObject(siteObject(SITE), async (o: OcaSite) => {
    const real = env.ORIGIN;
    const wrapped = {
      get: (key: string, opts?: R2GetOptions) => fault(real, key) ?? real.get(key, opts),
      head: real.head.bind(real),
      put: real.put.bind(real),
      list: real.list.bind(real),
      delete: real.delete.bind(real),
    } as unknown as R2Bucket;
    const inner = o as unknown as { env: Env; copyStallMs: number };
    inner.env = { ...env, ORIGIN: wrapped };
    inner.copyStallMs = 300;
  });
  return () =>
    runInDurableObject(siteObject(SITE), async (o: OcaSite) => {
      (o as unknown as { env: Env }).env = env;
    });
}

/** Runs the site's alarm now; fails (rather than hangs the suite) if it has not ended by ALARM_DEADLINE_MS. */
async function alarmEnds(): Promise<void> {
  await runInDurableObject(siteObject(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((r) => (timer = setTimeout(() => r("hung"), ALARM_DEADLINE_MS)));
  const ran = await Promise.race([runDurableObjectAlarm(siteObject(SITE)), hung]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
  expect(ran, "the alarm run ended").toBe(true);
}

const taskOf = (titleId: string, path: string) =>
  runInDurableObject(siteObject(SITE), async (_o, state) =>
    state.storage.sql
      .exec<{ attempts: number; failed_sources: string; parked_at: number | null; next_at: number; last_error: string | null }>(
        `SELECT attempts, failed_sources, parked_at, next_at, last_error FROM fill_tasks WHERE oca_id = ? AND title_id = ? AND path = ?`,
        OCA,
        titleId,
        path,
      )
      .toArray(),
  );

async function listedOn(titleId: string): Promise<string[]> {
  const r = await env.DB.prepare(`SELECT oca_id FROM oca_titles WHERE site_id = ? AND title_id = ? ORDER BY oca_id`)
    .bind(SITE, titleId)
    .all<{ oca_id: string }>();
  return r.results.map((x) => x.oca_id);
}

/** Plans `t` on OCA, runs one alarm with the origin faulted for STALLED, and checks what the stalled copy left. */
async function stalledRun(t: FixtureTitle, fault: Fault): Promise<void> {
  const files = Object.keys(t.files).length;
  await planWithoutAlarm(SITE, { [OCA]: [t.titleId] });
  const undo = await faultOrigin(fault);
  try {
    await alarmEnds();
  } finally {
    await undo();
  }
  // The rest of the title was copied; the stalled file was failed against origin, to be tried again later.
  const ready = `SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = ? AND state = 'ready'`;
  expect(await countInSite(SITE, ready, OCA, t.titleId)).toBe(files - 1);
  const [task] = await taskOf(t.titleId, STALLED);
  expect(task).toMatchObject({ attempts: 1, failed_sources: "origin", parked_at: null });
  expect(task.last_error).toMatch(/no progress/);
  expect(task.next_at).toBeGreaterThan(Date.now());
  // Nothing of the half-made copy: no row (not even 'filling': no used space), no object.
  expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ?`, OCA, t.titleId, STALLED)).toBe(0);
  expect(await env.TIER_EU.head(tierKey(SITE, OCA, t, STALLED))).toBeNull();
  // Incomplete, so never steered to.
  expect(await listedOn(t.titleId)).toEqual([]);
  expect(await runInDurableObject(siteObject(SITE), (_o, state) => state.storage.getAlarm())).not.toBeNull();

  // The source answers again: after the backoff a run copies the file, and the title is published.
  await new Promise((r) => setTimeout(r, task.next_at - Date.now() + 50));
  for (let i = 0; i < 5 && (await countInSite(SITE, ready, OCA, t.titleId)) < files; i++) await alarmEnds();
  expect(await countInSite(SITE, ready, OCA, t.titleId)).toBe(files);
  expect(await listedOn(t.titleId)).toEqual([OCA]);
  expect(new Uint8Array(await (await env.TIER_EU.get(tierKey(SITE, OCA, t, STALLED)))!.arrayBuffer())).toEqual(t.files[STALLED]);
}

describe("a fill copy whose source stops making progress", () => {
  it("is given up when the body hangs half-way, leaves nothing behind, and is copied on a later run", async () => {
    const t = await publishTitle("copy-stall-body");
    const stalledKey = originKey(t.titleId, STALLED, t.sha[STALLED]);
    await stalledRun(t, (_real, key) => {
      if (key !== stalledKey) return undefined;
      const whole = t.files[STALLED];
      // Half the bytes, then nothing more, ever.
      const body = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(whole.slice(0, whole.byteLength / 2)) });
      return Promise.resolve({ key, size: whole.byteLength, body } as unknown as R2ObjectBody);
    });
  });

  it("is given up when the read is never answered", async () => {
    const t = await publishTitle("copy-stall-read");
    const stalledKey = originKey(t.titleId, STALLED, t.sha[STALLED]);
    await stalledRun(t, (_real, key) => (key === stalledKey ? new Promise<never>(() => {}) : undefined));
  });
});
