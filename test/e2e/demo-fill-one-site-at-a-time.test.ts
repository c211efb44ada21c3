import { describe, expect, it } from "vitest";
import type { Catalogue } from "../../r2-seed/catalogue-types";
import { demoPlacement } from "../../r2-seed/demo-placement";
import { fillPlacement } from "../../r2-seed/seed";

/**
 * `npm start` fills the demo placement through the admin API. Locally one workerd thread does every
 * copy, so fills sent together only shared it, and each printed fill time was the whole wave's (equal
 * times across sites, as if a fixed wait): the start sends one site's fill at a time, IXP sites first.
 */
describe("the demo fill", () => {
  it("sends one site's fill at a time, every IXP site's before any embedded site's, so each one's time is its own", async () => {
    const sent: string[] = [];
    let inFlight = 0;
    let most = 0;
    const fakeFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      const { placements } = JSON.parse(String(init?.body)) as { placements: Array<{ siteId: string; ocaId: string; titleIds: string[] }> };
      sent.push(placements[0].siteId);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      const results = placements.flatMap((p) => p.titleIds.map((titleId) => ({ ocaId: p.ocaId, titleId, copied: 1, bySource: { origin: 1 } })));
      return new Response(JSON.stringify({ ok: true, results }), { status: 200, headers: { "Content-Type": "application/json" } });
    }) as typeof fetch;
    const lines: string[] = [];
    const waves = demoPlacement(["t1", "t2", "t3"]);
    await fillPlacement(
      {
        baseUrl: "http://127.0.0.1:1",
        adminToken: "token",
        catalogue: { version: 1, builtAt: "", titles: [] } satisfies Catalogue,
        cacheDir: "",
        onProgress: (m) => lines.push(m),
        fetch: fakeFetch,
      },
      waves,
    );
    const sites = (wave: (typeof waves)[number]) => [...new Set(wave.map((p) => p.siteId))];
    expect(most).toBe(1);
    expect(sent).toEqual([...sites(waves[0]), ...sites(waves[1])]);
    expect(lines).toHaveLength(sent.length);
  });
});
