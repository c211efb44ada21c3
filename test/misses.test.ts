import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

// Misses as Open Connect counts them, per title: a content miss (the site did not hold what its client
// asked for) and a health miss (it held it, but steering sent the client elsewhere).

type Miss = { ocaId: string; titleId: string; kind: "content" | "health"; count: number; bytes: number };

async function missesOf(siteId: string, titleId: string, want: (m: Miss[]) => boolean): Promise<Miss[]> {
  let misses: Miss[] = [];
  for (let i = 0; i < 100; i++) {
    const state = (await (await call(`/admin/sites/${siteId}`, { headers: ADMIN })).json()) as { misses: Miss[] };
    misses = state.misses.filter((m) => m.titleId === titleId);
    if (want(misses)) break;
    await new Promise((r) => setTimeout(r, 30));
  }
  return misses;
}

let token: string;
beforeAll(async () => {
  token = await memberToken("premium", "misses-viewer");
  await publishTitle("miss-held");
  await publishTitle("miss-absent");
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["miss-held"] }])).status).toBe(200);
  expect((await fill([{ siteId: "ixp-nyc", ocaId: "ixp-nyc-1", titleIds: ["miss-held", "miss-absent"] }])).status).toBe(200);
});

describe("misses, by kind", () => {
  it("counts a health miss at the home site when its copy's OCA is out and the client is steered elsewhere", async () => {
    const ok = (await (await pressPlay(await memberToken("premium"), { titleId: "miss-held" }, GEO.lumenNyc)).json()) as PlayResponse;
    expect(ok.ocas[0]).toMatchObject({ siteId: "lumen-nyc", ocaId: "lumen-nyc-1" });
    expect(
      (
        await call("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/health", {
          method: "POST",
          headers: { ...ADMIN, "Content-Type": "application/json" },
          body: '{"health":"drained"}',
        })
      ).status,
    ).toBe(200);
    try {
      const p = (await (await pressPlay(await memberToken("premium"), { titleId: "miss-held" }, GEO.lumenNyc)).json()) as PlayResponse;
      expect(p.ocas[0].siteId).not.toBe("lumen-nyc");
      const misses = await missesOf("lumen-nyc", "miss-held", (m) => m.some((x) => x.kind === "health"));
      expect(misses).toEqual([expect.objectContaining({ ocaId: "lumen-nyc-1", kind: "health", count: 1 })]);
    } finally {
      await call("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/health", {
        method: "POST",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        body: '{"health":"healthy"}',
      });
    }
  });

  it("counts a content miss at the home site when it holds no copy, and one at an OCA that served a file it lacked", async () => {
    const p = (await (await pressPlay(token, { titleId: "miss-absent" }, GEO.lumenNyc)).json()) as PlayResponse;
    expect(p.ocas[0].siteId).toBe("ixp-nyc");
    let misses = await missesOf("lumen-nyc", "miss-absent", (m) => m.length > 0);
    expect(misses).toEqual([expect.objectContaining({ kind: "content", count: 1 })]);
    // A client that asks lumen-nyc-2 for the file anyway gets it from the parent, and the site counts it.
    const direct = p.ocas[0].url.replace("/ixp-nyc/ixp-nyc-1/", "/lumen-nyc/lumen-nyc-2/");
    const res = await call(`${direct}video/avc-240p/init.mp4`);
    expect(res.headers.get("X-OCA-Source")).toBe("parent:ixp-nyc/ixp-nyc-1");
    await res.arrayBuffer();
    misses = await missesOf("lumen-nyc", "miss-absent", (m) => m.some((x) => x.ocaId === "lumen-nyc-2"));
    expect(misses).toContainEqual(expect.objectContaining({ ocaId: "lumen-nyc-2", kind: "content", count: 1, bytes: 700 }));
  });

  it("counts a miss's bytes as what its answer served: a HEAD or a 304 none, a range its length, not the whole file each time", async () => {
    const at = (m: Miss[]) => m.find((x) => x.ocaId === "lumen-nyc-1" && x.kind === "content") ?? { count: 0, bytes: 0 };
    const earlier = at(await missesOf("lumen-nyc", "miss-absent", () => true));
    const p = (await (await pressPlay(token, { titleId: "miss-absent" }, GEO.lumenNyc)).json()) as PlayResponse;
    // The play itself is a content miss at its home site (no bytes): let it land first.
    const before = at(await missesOf("lumen-nyc", "miss-absent", (m) => at(m).count > earlier.count));
    expect(before).toMatchObject({ count: earlier.count + 1, bytes: earlier.bytes });
    const url = `${p.ocas[0].url.replace("/ixp-nyc/ixp-nyc-1/", "/lumen-nyc/lumen-nyc-1/")}video/avc-240p/init.mp4`;
    const asked: Response[] = [];
    for (let i = 0; i < 20; i++) asked.push(await call(url, { method: "HEAD" }));
    const whole = await call(url);
    const etag = whole.headers.get("ETag")!;
    await whole.arrayBuffer();
    asked.push(await call(url, { headers: { "If-None-Match": etag } }));
    const ranged = await call(url, { headers: { Range: "bytes=0-99" } });
    await ranged.arrayBuffer();
    expect(asked.map((r) => r.status)).toEqual([...Array(20).fill(200), 304]);
    expect(ranged.status).toBe(206);
    expect(asked.every((r) => r.headers.get("X-OCA-Source") === "parent:ixp-nyc/ixp-nyc-1")).toBe(true);
    const count = before.count + 23;
    const misses = await missesOf("lumen-nyc", "miss-absent", (m) => at(m).count >= count);
    // 20 HEADs, a 304, the whole file (700 bytes) and 100 bytes of range.
    expect(at(misses)).toMatchObject({ count, bytes: before.bytes + 800 });
  });
});
