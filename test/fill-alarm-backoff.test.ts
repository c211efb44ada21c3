import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import { openPlan, publishTitle } from "./fixtures";
import { watchSiteD1 } from "./site-rows";

/**
 * The site object's alarm while D1 is out: it re-arms itself (the platform retries a throwing alarm
 * only a few times), but a reconcile or fill run that keeps failing is tried again after a backoff that
 * doubles from a tick up to a few minutes, not every second: an outage must not make every site
 * object a once-a-second D1 caller. A success starts the backoff over, and the fill's own pace is not
 * slowed by a reconcile that fails beside it. D1 is the one thing mocked: the local runtime cannot fail
 * it on cue, so the object's binding is wrapped to throw on every statement it prepares (test/site-rows.ts;
 * the live topology's look goes through a D1 session, which the wrapper passes through, and which keeps
 * the current topology when it fails anyway).
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** Runs the site's alarm once now; returns how far ahead it re-armed itself (null: not at all). */
async function alarmRun(siteId: string): Promise<number | null> {
  await runInDurableObject(site(siteId), (_o, state) => state.storage.setAlarm(Date.now()));
  expect(await runDurableObjectAlarm(site(siteId))).toBe(true);
  const next = await runInDurableObject(site(siteId), (_o, state) => state.storage.getAlarm());
  return next === null ? null : next - Date.now();
}

const d1Down = (siteId: string) =>
  watchSiteD1(site(siteId), () => {
    throw new Error("injected: D1 unreachable");
  });

const readyFiles = (siteId: string, ocaId: string, titleId: string) =>
  runInDurableObject(
    site(siteId),
    async (_o, state) =>
      state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = ? AND state = 'ready'`, ocaId, titleId).one().n,
  );

describe("the site's alarm while D1 is out", () => {
  it("outside the fill window, retries a failing reconcile after a doubling backoff up to a cap, and from a tick again after a success", async () => {
    const SITE = "lumen-lax";
    const undo = await d1Down(SITE);
    const delays: number[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const delay = await alarmRun(SITE);
        // Never given up: the object re-arms itself however long the outage.
        expect(delay, `run ${i + 1}`).not.toBeNull();
        delays.push(delay!);
      }
      expect((await site(SITE).lastCycle()).progress.lastError).toMatch(/reconcile: .*injected: D1 unreachable/);
      // 1 s, 2 s, 4 s, 8 s, 16 s, 32 s (each measured a moment after it was armed).
      delays.forEach((d, i) => {
        expect(d, `run ${i + 1}`).toBeGreaterThan(1_000 * 2 ** i - 500);
        expect(d, `run ${i + 1}`).toBeLessThanOrEqual(1_000 * 2 ** i);
      });
      // A long outage: the retries stop doubling at a few minutes.
      for (let i = 0; i < 6; i++) await alarmRun(SITE);
      const capped = (await alarmRun(SITE))!;
      expect(capped).toBeGreaterThan(4 * 60_000);
      expect(capped).toBeLessThanOrEqual(5 * 60_000);
    } finally {
      await undo();
    }
    // D1 back: the reconcile succeeds, and with nothing else to do nothing is armed.
    expect(await alarmRun(SITE)).toBeNull();
    // The next outage starts again from a tick.
    const again = await d1Down(SITE);
    try {
      const first = (await alarmRun(SITE))!;
      expect(first).toBeGreaterThan(500);
      expect(first).toBeLessThanOrEqual(1_000);
    } finally {
      await again();
    }
  });

  it("in the fill window, keeps the fill's pace while it copies and backs off once it fails too, then finishes the plan when D1 is back", async () => {
    const SITE = "rheinnet-muc";
    const OCA = "rheinnet-muc-1";
    const a = await publishTitle("backoff-a");
    const b = await publishTitle("backoff-b");
    // The first title's files queued as the plan is applied; the second waits its turn (one title a call).
    await runInDurableObject(site(SITE), async (o: OcaSite, state) => {
      await o.applyPlan({ ...openPlan({ [OCA]: ["backoff-a", "backoff-b"] }), queueAhead: { files: 1, titles: 1 } });
      await state.storage.deleteAlarm();
    });
    const undo = await d1Down(SITE);
    try {
      // The queued title is copied from origin (R2) though its publish and the reconcile fail on D1:
      // the next run, which queues the second title, comes at once, not a tick later.
      const first = (await alarmRun(SITE))!;
      expect(await readyFiles(SITE, OCA, "backoff-a")).toBe(Object.keys(a.files).length);
      expect(first).toBeLessThan(500);
      // Queuing the second title needs D1: the fill fails as well now, and both back off.
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) delays.push((await alarmRun(SITE))!);
      expect((await site(SITE).lastCycle()).progress.lastError).toMatch(/injected: D1 unreachable/);
      delays.forEach((d, i) => {
        expect(d, `failed run ${i + 1}`).toBeGreaterThan(1_000 * 2 ** i - 500);
        expect(d, `failed run ${i + 1}`).toBeLessThanOrEqual(1_000 * 2 ** i);
      });
    } finally {
      await undo();
    }
    // D1 back: the alarms it armed queue and copy the second title and list both.
    for (let i = 0; i < 10 && (await runDurableObjectAlarm(site(SITE))); i++);
    expect(await readyFiles(SITE, OCA, "backoff-b")).toBe(Object.keys(b.files).length);
    const listed = await env.DB.prepare(`SELECT title_id FROM oca_titles WHERE site_id = ? AND oca_id = ? AND title_id LIKE 'backoff-%' ORDER BY title_id`)
      .bind(SITE, OCA)
      .all<{ title_id: string }>();
    expect(listed.results.map((r) => r.title_id)).toEqual(["backoff-a", "backoff-b"]);
  });
});
