import { beforeAll, describe, expect, it } from "vitest";
import { call, fill, GEO, memberToken, pressPlay, publishHeldAt, type PlayResponse } from "./fixtures";
import { sitesAskedDuring } from "./site-sync-watch";

/**
 * A steering poll ranks the session's own OCAs only (those play gave it), so it asks for the live view
 * of their sites only: a title held at many sites would otherwise have each poll sync this isolate with
 * every one of them (and wait for those whose view had expired), far sites the session can never be
 * steered to included, and each of those site objects take a sync a second from every isolate.
 */

const TITLE = "steer-own-sites";

beforeAll(async () => {
  await publishHeldAt(TITLE, ["lumen-nyc/lumen-nyc-1"]);
});

describe("a steering poll", () => {
  it("asks only the sites of the session's own OCAs, not every site that came to hold the title since", async () => {
    const p = (await (await pressPlay(await memberToken("standard"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
    const own = new Set(p.ocas.map((o) => o.siteId));
    expect(own.has("lumen-nyc")).toBe(true);
    // After the play, two far sites fill the title: candidates of its version, never the session's.
    expect(
      (
        await fill([
          { siteId: "ixp-fra", ocaId: "ixp-fra-1", titleIds: [TITLE] },
          { siteId: "ixp-sjc", ocaId: "ixp-sjc-1", titleIds: [TITLE] },
        ])
      ).status,
    ).toBe(200);
    let order: string[] = [];
    const asked = await sitesAskedDuring(async () => {
      const res = await call(p.steering.server);
      expect(res.status).toBe(200);
      order = ((await res.json()) as { "PATHWAY-PRIORITY": string[] })["PATHWAY-PRIORITY"];
      // What the poll handed to waitUntil runs meanwhile.
      await new Promise((r) => setTimeout(r, 300));
    });
    expect(order.length).toBeGreaterThan(0);
    for (const ocaId of order) expect(p.ocas.map((o) => o.ocaId)).toContain(ocaId);
    expect([...asked].filter((siteId) => !own.has(siteId))).toEqual([]);
  });
});
