import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dayNumber } from "../fill/day";
import { HISTORY_DAYS } from "../fill/predict";
import type { OcaSite } from "../durable-objects/oca-site";
import { fill, publishTitle, type FixtureTitle } from "./fixtures";

/**
 * When the planned fill needs room, a site evicts the titles its plan left out least watched first,
 * weighed over the forecast's window (HISTORY_DAYS), not the 120 days of history it keeps: a hit of
 * months ago, watched by no one lately, goes before a title watched last week.
 */

const SITE = "lakeshore-chi";
const OCA = "lakeshore-chi-1";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const bytesOf = (t: FixtureTitle) => Object.values(t.files).reduce((s, b) => s + b.byteLength, 0);

describe("eviction for the planned fill", () => {
  it("takes out the title least watched within the forecast's window, not over all the history kept", async () => {
    const old = await publishTitle("ev-old-hit");
    const recent = await publishTitle("ev-recent");
    const before = (await site().describe()).ocas.find((o) => o.ocaId === OCA)!.usedBytes;
    await site().setCapacity(OCA, before + bytesOf(old) + bytesOf(recent));
    expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: ["ev-old-hit", "ev-recent"] }])).status).toBe(200);
    const today = dayNumber(Date.now(), "America/Chicago");
    // A hit two months ago, nothing since; a small title watched a little every day of the last week.
    for (let d = today - 70; d < today - 60; d++) await site().recordViews(d, "ev-old-hit", { plays: 1000, bytes: 1e12 });
    for (let d = today - 7; d < today; d++) await site().recordViews(d, "ev-recent", { plays: 10, bytes: 1e9 });
    expect(today - 60).toBeLessThan(today - HISTORY_DAYS);

    // No plan holds either: room for one more title of the old hit's size is made.
    const made = await runInDurableObject(site(), (o: OcaSite) =>
      (o as unknown as { makeRoom: (oca: string, need: number, lastDay: () => Promise<Set<string>>) => Promise<boolean> }).makeRoom(
        OCA,
        bytesOf(old),
        async () => new Set(),
      ),
    );
    expect(made).toBe(true);
    const held = (await site().describe()).ocas.find((o) => o.ocaId === OCA)!.titles.map((t) => t.titleId);
    expect(held).toContain("ev-recent");
    expect(held).not.toContain("ev-old-hit");
    await site().setCapacity(OCA, null);
  });
});
