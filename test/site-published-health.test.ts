import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { steeringTable } from "../workers/shared/steering-table";
import type { OcaLive } from "../workers/shared/site-view";

/**
 * What a site's object writes to the D1 steering view after a sync whose report changes an OCA's
 * health. Its health write and its load write (which carries health too) are stamped with the same
 * moment, and a row keeps the last write of a moment: so the load write must carry the verdict the
 * report called for, never the health from before it, whichever of the two lands last.
 */

const SITE = "lakeshore-chi";
const OCA = "lakeshore-chi-1";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const row = () => env.DB.prepare(`SELECT health, updated_at FROM oca_status WHERE oca_id = ?`).bind(OCA).first<{ health: string; updated_at: number }>();

describe("the load a site publishes with a report that fails an OCA", () => {
  it("carries the failed verdict, so the steering view says failed whichever write lands last", async () => {
    // Deployed, D1 may apply two writes in either order; the local D1 applies them as sent. The load
    // write is held back here (passed through to the real write) so that it lands after the health write.
    const real = steeringTable.setLoad;
    const published: OcaLive[][] = [];
    let landed: Promise<void> = Promise.resolve();
    steeringTable.setLoad = (db, siteId, live, now) => {
      published.push(live);
      landed = sleep(300).then(() => real.call(steeringTable, db, siteId, live, now));
      return landed;
    };
    try {
      const view = await site().edgeSync(
        { seq: 1, windowMs: 1_000, ocas: { [OCA]: { bytes: 10_000, requests: 10, errors: 10, latencyMsSum: 200, sessions: [] } } },
        "published-health-isolate",
      );
      expect(view.ocas.find((o) => o.ocaId === OCA)?.health).toBe("failed");
      for (let i = 0; i < 50 && published.length === 0; i++) await sleep(20);
      await landed;
    } finally {
      steeringTable.setLoad = real;
    }
    expect(published.map((live) => live.find((o) => o.ocaId === OCA)?.health)).toEqual(["failed"]);
    expect((await row())?.health).toBe("failed");
  });
});
