/**
 * What the planned fill copies first and what it evicts, driven through the admin's fill cycle and the
 * site object's real alarms: a window that cannot finish its queue copies the plan's most valuable
 * titles first, and a title on its last licensed day stays until its licence ends.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localDayStart } from "../fill/day";
import { ADMIN, call, CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight, fill, publishTitle, type FixtureTitle } from "./fixtures";

// Seeds a site's history up to yesterday and gives a licence the rest of today: never across a local midnight.
beforeAll(() => clearOfLocalMidnight(), CLEAR_OF_MIDNIGHT_MS + 10_000);

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const json = async <T>(res: Response) => (await res.json()) as T;
const bytesOf = (t: FixtureTitle) => Object.values(t.files).reduce((s, b) => s + b.byteLength, 0);
const since = new Date(Date.now() - 90 * 86_400_000).toISOString();

/** 14 days of history ending yesterday (site-local), `bytes` a day per title. */
async function seedHistory(siteId: string, timeZone: string, perTitle: Record<string, number>): Promise<void> {
  const today = dayNumber(Date.now(), timeZone);
  for (let d = today - 14; d < today; d++) {
    for (const [titleId, bytes] of Object.entries(perTitle)) await site(siteId).recordViews(d, titleId, { plays: 10, bytes });
  }
}

async function setCapacity(siteId: string, ocaId: string, capacityBytes: number): Promise<void> {
  const res = await call(`/admin/sites/${siteId}/ocas/${ocaId}/capacity`, {
    method: "POST",
    headers: { ...ADMIN, "Content-Type": "application/json" },
    body: JSON.stringify({ capacityBytes }),
  });
  expect(res.status).toBe(200);
}

/** The operator's "run now", with no waiting for a parent or peer: these tests are about order and room. */
async function runCycle(siteId: string, extra: Record<string, unknown> = {}): Promise<{ ran: boolean }> {
  return json(
    await call(`/admin/sites/${siteId}/fill-cycle`, {
      method: "POST",
      headers: { ...ADMIN, "Content-Type": "application/json" },
      body: JSON.stringify({ peerWaitMs: 0, parentWaitMs: 0, ...extra }),
    }),
  );
}

interface SiteState {
  ocas: Array<{ ocaId: string; titles: Array<{ titleId: string; readyFiles: number; complete: boolean }> }>;
  progress: { lastError: string | null };
}
const state = async (siteId: string) => json<SiteState>(await call(`/admin/sites/${siteId}`, { headers: ADMIN }));
const onOca = (s: SiteState, ocaId: string, titleId: string) => s.ocas.find((o) => o.ocaId === ocaId)!.titles.find((t) => t.titleId === titleId);

describe("the order of the planned fill", () => {
  it("copies the plan's most valuable title first when the window cannot finish the queue, not the alphabet's first", async () => {
    // Same size, out for months (no launch): fo-z-major is watched nine times as much as fo-a-minor.
    await publishTitle("fo-a-minor", { availableFrom: since });
    await publishTitle("fo-z-major", { availableFrom: since });
    // One OCA in use, so both titles queue on it.
    await setCapacity("lumen-lax", "lumen-lax-2", 0);
    await seedHistory("lumen-lax", "America/Los_Angeles", { "fo-a-minor": 1e9, "fo-z-major": 9e9 });
    // 4 KiB/s: one alarm copies a file or two.
    expect(await runCycle("lumen-lax", { fillRateBps: 8 * 4096 })).toMatchObject({ ran: true });
    expect((await site("lumen-lax").lastCycle()).plan["lumen-lax-1"]).toEqual(["fo-a-minor", "fo-z-major"]);
    await runDurableObjectAlarm(site("lumen-lax"));
    const s = await state("lumen-lax");
    expect(onOca(s, "lumen-lax-1", "fo-z-major")?.readyFiles ?? 0).toBeGreaterThan(0);
    expect(onOca(s, "lumen-lax-1", "fo-a-minor")?.readyFiles ?? 0).toBe(0);
  });
});

describe("eviction for the planned fill", () => {
  it("keeps a title on its last licensed day here until its licence ends, though the plan for tomorrow left it out", async () => {
    const SITE = "polder-ams";
    const OCA = "polder-ams-1";
    const AMSTERDAM = "Europe/Amsterdam";
    const now = Date.now();
    const tomorrowStart = localDayStart(dayNumber(now, AMSTERDAM) + 1, AMSTERDAM);
    // Licensed in the Netherlands until later today (and in the US for good, so it stays a live title).
    const until = now + Math.floor((tomorrowStart - now) / 2);
    const lastDay = await publishTitle("fo-last-day", {
      availableFrom: since,
      licences: [
        { country: "NL", availableFrom: since, availableUntil: new Date(until).toISOString() },
        { country: "US", availableFrom: since },
      ],
    });
    await publishTitle("fo-newcomer", { availableFrom: since });
    // One OCA in use, with room for one title and a half; it holds fo-last-day, which viewers still play.
    await setCapacity(SITE, "polder-ams-2", 0);
    await setCapacity(SITE, OCA, Math.round(bytesOf(lastDay) * 1.5));
    expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: ["fo-last-day"] }])).status).toBe(200);
    await seedHistory(SITE, AMSTERDAM, { "fo-last-day": 9e9, "fo-newcomer": 5e9 });

    expect(await runCycle(SITE)).toMatchObject({ ran: true });
    expect((await site(SITE).lastCycle()).plan[OCA]).toEqual(["fo-newcomer"]);
    // The window closes after the licence ends (so the copy waits for it, not past the window).
    await runInDurableObject(site(SITE), async (_o, st) => {
      st.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('fill_until', ?)`, String(tomorrowStart));
    });
    for (let i = 0; i < 10 && (await runDurableObjectAlarm(site(SITE))); i++);
    let s = await state(SITE);
    expect(onOca(s, OCA, "fo-last-day")?.complete).toBe(true);
    expect(onOca(s, OCA, "fo-newcomer")?.complete ?? false).toBe(false);
    expect(s.progress.lastError).toMatch(/no room/);

    // Its licence here ended: the next try evicts it for the plan's title.
    await env.DB.prepare(`UPDATE licences SET available_until = ? WHERE title_id = 'fo-last-day' AND country = 'NL'`)
      .bind(Date.now() - 1_000)
      .run();
    await runInDurableObject(site(SITE), async (_o, st) => {
      st.storage.sql.exec(`UPDATE fill_tasks SET next_at = 0`);
      await st.storage.setAlarm(Date.now());
    });
    for (let i = 0; i < 10 && (await runDurableObjectAlarm(site(SITE))); i++);
    s = await state(SITE);
    expect(onOca(s, OCA, "fo-last-day")).toBeUndefined();
    expect(onOca(s, OCA, "fo-newcomer")?.complete).toBe(true);
  });

  it("evicts a title licensed here into the evening when the window closes before its licence ends: the plan's title is copied in the window", async () => {
    const SITE = "rheinnet-muc";
    const OCA = "rheinnet-muc-1";
    const BERLIN = "Europe/Berlin";
    const now = Date.now();
    const tomorrowStart = localDayStart(dayNumber(now, BERLIN) + 1, BERLIN);
    // Its last licensed day here ends a minute before tomorrow (Berlin): late in the evening, minutes away.
    const licenceEnd = tomorrowStart - 60_000;
    const evening = await publishTitle("fo-evening", {
      availableFrom: since,
      licences: [
        { country: "DE", availableFrom: since, availableUntil: new Date(licenceEnd).toISOString() },
        { country: "US", availableFrom: since },
      ],
    });
    await publishTitle("fo-launch", { availableFrom: since });
    await setCapacity(SITE, "rheinnet-muc-2", 0);
    await setCapacity(SITE, OCA, Math.round(bytesOf(evening) * 1.5));
    expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: ["fo-evening"] }])).status).toBe(200);
    await seedHistory(SITE, BERLIN, { "fo-evening": 9e9, "fo-launch": 5e9 });
    expect(await runCycle(SITE)).toMatchObject({ ran: true });
    expect((await site(SITE).lastCycle()).plan[OCA]).toEqual(["fo-launch"]);
    // The window closes before the licence ends: in 30 minutes, or halfway to the licence's end when that
    // is nearer (late in Berlin's evening the licence ends within the half hour, and the title is spared).
    const closes = Date.now() + Math.min(30 * 60_000, (licenceEnd - Date.now()) / 2);
    await runInDurableObject(site(SITE), async (_o, st) => {
      st.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('fill_until', ?)`, String(Math.round(closes)));
    });
    for (let i = 0; i < 10 && (await runDurableObjectAlarm(site(SITE))); i++);
    const s = await state(SITE);
    expect(onOca(s, OCA, "fo-evening")).toBeUndefined();
    expect(onOca(s, OCA, "fo-launch")?.complete).toBe(true);
  });
});
