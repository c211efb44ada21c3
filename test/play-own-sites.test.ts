import { beforeAll, describe, expect, it } from "vitest";
import { GEO, memberToken, pressPlay, publishHeldAt, type PlayResponse } from "./fixtures";
import { sitesAskedDuring } from "./site-sync-watch";
import { usableCandidates } from "../workers/control/steering";
import { topology } from "../workers/shared/topology";

/**
 * A play asks the live view of the sites it may steer its client to only: IXP sites and the embedded
 * sites of the client's own ISP. Another ISP's embedded sites are never steered to (they sit inside
 * another network), so syncing with them on every play kept each play isolate in sync with every
 * embedded site of every ISP holding the title. Their copies still count toward a region's copies.
 */

const TITLE = "play-own-sites";

beforeAll(async () => {
  // With embedded sites of other ISPs: Lakeshore Cable in Chicago, RheinNet in Berlin.
  await publishHeldAt(TITLE, ["lumen-nyc/lumen-nyc-1", "ixp-nyc/ixp-nyc-1", "lakeshore-chi/lakeshore-chi-1", "rheinnet-ber/rheinnet-ber-1"]);
});

describe("a play", () => {
  it("asks no live view of another ISP's embedded sites, and steers its client to its own ISP's and the IXPs' OCAs", async () => {
    let play: PlayResponse | undefined;
    const token = await memberToken("standard");
    const asked = await sitesAskedDuring(async () => {
      const res = await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc);
      expect(res.status).toBe(200);
      play = (await res.json()) as PlayResponse;
      // What the play handed to waitUntil runs meanwhile.
      await new Promise((r) => setTimeout(r, 300));
    });
    expect(play!.ocas.map((o) => o.ocaId)).toEqual(["lumen-nyc-1", "ixp-nyc-1", "origin"]);
    expect(asked.has("lakeshore-chi")).toBe(false);
    expect(asked.has("rheinnet-ber")).toBe(false);
  });

  it("keeps, per ISP, the candidates its client may be steered to: IXP sites and its own ISP's embedded sites", () => {
    const candidates = [
      { siteId: "lumen-nyc", ocaId: "lumen-nyc-1" },
      { siteId: "ixp-fra", ocaId: "ixp-fra-1" },
      { siteId: "lakeshore-chi", ocaId: "lakeshore-chi-1" },
      { siteId: "no-such-site", ocaId: "x-1" },
    ];
    const lumen = { asn: 64500, lat: 40.7, lon: -74 };
    const ids = (client: { asn: number | null; lat: number | null; lon: number | null }) => usableCandidates(topology, client, candidates).map((c) => c.ocaId);
    expect(ids(lumen)).toEqual(["lumen-nyc-1", "ixp-fra-1"]);
    expect(ids({ asn: 64510, lat: null, lon: null })).toEqual(["ixp-fra-1", "lakeshore-chi-1"]);
    // An unknown network, or none: IXP sites only.
    expect(ids({ asn: 1, lat: null, lon: null })).toEqual(["ixp-fra-1"]);
    expect(ids({ asn: null, lat: null, lon: null })).toEqual(["ixp-fra-1"]);
    // The same list for the same ISP: kept, not filtered again per play.
    expect(usableCandidates(topology, lumen, candidates)).toBe(usableCandidates(topology, lumen, candidates));
  });
});
