import { beforeAll, describe, expect, it } from "vitest";
import { addSite, call, GEO, memberToken, pressPlay, publishHeldAt, siteBody, type PlayResponse } from "./fixtures";

/**
 * A session token carries at most PATHWAYS_MAX_CHARS of pathways. With long site and OCA ids (each may
 * be 64 characters) ten ranked OCAs do not fit: the play answer must still offer only what the session's
 * steering offers, origin (the last resort) among them.
 */

const TITLE = "long-ids-title";
/** Nine IXP sites (rankOcas keeps nine OCAs and origin), each id near the 64-character limit. */
const SITES = Array.from({ length: 9 }, (_, i) => `ixp-with-a-very-long-site-id-for-steering-review-number-${i}`);

beforeAll(async () => {
  for (const [i, id] of SITES.entries()) {
    const res = await addSite(siteBody(id, { lon: -74 + i / 10, ocas: [{ id: `${id}-1`, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 }] }));
    if (res.status >= 300) throw new Error(`add ${id}: ${res.status} ${await res.text()}`);
  }
  await publishHeldAt(
    TITLE,
    SITES.map((s) => `${s}/${s}-1`),
  );
});

describe("a play whose pathways' ids are long", () => {
  it("answers OCAs that every steered playlist and steering poll names, origin last", async () => {
    const res = await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.otherBoston);
    expect(res.status).toBe(200);
    const p = (await res.json()) as PlayResponse;
    expect(p.ocas.at(-1)?.tier).toBe("origin");
    expect(p.ocas.map((o) => o.rank)).toEqual(p.ocas.map((_o, i) => i + 1));

    const hls = await (await call(p.steering.hls)).text();
    const pathways = new Set([...hls.matchAll(/PATHWAY-ID="([^"]+)"/g)].map((m) => m[1]));
    expect([...pathways].sort()).toEqual(p.ocas.map((o) => o.ocaId).sort());

    const poll = (await (await call(p.steering.server)).json()) as { "PATHWAY-PRIORITY": string[] };
    expect(poll["PATHWAY-PRIORITY"]).toContain(p.ocas.at(-1)!.ocaId);
    expect(poll["PATHWAY-PRIORITY"]).toEqual(p.ocas.map((o) => o.ocaId));
  });
});
