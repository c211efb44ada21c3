import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { fill, GEO, memberToken, pressPlay, publishTitle, type FixtureTitle, type PlayResponse } from "./fixtures";

/**
 * A miss at an OCA looks for a parent site's copy. The tier bucket binding is wrapped by a proxy that
 * holds each lookup 30 ms and records which were in flight together and which bodies were let go: the
 * one thing mocked, because the local R2 answers at once and does not say so.
 */

const TITLE = "miss-parents-title";
const SEG = "video/avc-480p/seg-00001.m4s";
let t: FixtureTitle;
let play: PlayResponse;

interface Watch {
  asked: string[];
  most: number;
  cancelled: string[];
}

function watched(w: Watch): R2Bucket {
  let inFlight = 0;
  const hold = async <T>(key: string, op: () => Promise<T>): Promise<T> => {
    w.asked.push(key);
    w.most = Math.max(w.most, ++inFlight);
    try {
      await new Promise((r) => setTimeout(r, 30));
      return await op();
    } finally {
      inFlight--;
    }
  };
  return new Proxy(env.TIER_NA, {
    get(target, prop) {
      if (prop === "head") return (key: string) => hold(key, () => target.head(key));
      if (prop === "get")
        return (key: string, opts?: R2GetOptions) =>
          hold(key, async () => {
            const o = await target.get(key, opts);
            if (!o || !("body" in o)) return o;
            // The body, observed: a lookup whose answer is not taken must let it go.
            const reader = (o as R2ObjectBody).body.getReader();
            const body = new ReadableStream<Uint8Array>({
              async pull(c) {
                const r = await reader.read();
                if (r.done) c.close();
                else c.enqueue(r.value);
              },
              cancel(reason) {
                w.cancelled.push(key);
                return reader.cancel(reason);
              },
            });
            return new Proxy(o, {
              get: (t2, p2) => (p2 === "body" ? body : typeof Reflect.get(t2, p2) === "function" ? Reflect.get(t2, p2).bind(t2) : Reflect.get(t2, p2)),
            });
          });
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function get(url: string, headers: Record<string, string> = {}) {
  const w: Watch = { asked: [], most: 0, cancelled: [] };
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { headers }), { ...env, TIER_NA: watched(w) }, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body, w };
}

beforeAll(async () => {
  t = await publishTitle(TITLE);
  // The parent (ixp-nyc) holds it on its second and third OCAs, not its first; lumen-nyc holds nothing.
  expect((await fill([{ siteId: "ixp-nyc", ocaId: "ixp-nyc-2", titleIds: [TITLE] }])).status).toBe(200);
  expect((await fill([{ siteId: "ixp-nyc", ocaId: "ixp-nyc-3", titleIds: [TITLE] }])).status).toBe(200);
  play = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
});

const atLumen = () => `${play.ocas[0].url.replace(/\/oca\/[^/]+\/[^/]+\//, "/oca/lumen-nyc/lumen-nyc-1/")}${SEG}`;

describe("a miss's walk to a parent site", () => {
  it("asks the parent's OCAs together and serves from the first in order that holds the file, letting the other body go", async () => {
    const { res, body, w } = await get(atLumen());
    expect(res.status).toBe(200);
    expect(res.headers.get("X-OCA-Source")).toBe("parent:ixp-nyc/ixp-nyc-2");
    expect(body).toEqual(t.files[SEG]);
    const parentKeys = w.asked.filter((k) => k.startsWith("ixp-nyc/"));
    expect(parentKeys.map((k) => k.split("/")[1])).toEqual(["ixp-nyc-1", "ixp-nyc-2", "ixp-nyc-3"]);
    // The own copy's lookup first, then the parent's three at once (asked one by one, the most is 1).
    expect(w.asked[0].startsWith("lumen-nyc/lumen-nyc-1/")).toBe(true);
    expect(w.most).toBe(3);
    // ixp-nyc-3's copy was fetched too: its body let go, the chosen one's read to the end.
    expect(w.cancelled).toEqual([expect.stringMatching(/^ixp-nyc\/ixp-nyc-3\//)]);
  });

  it("looks up (no bodies) for a range and serves the range from the first holder", async () => {
    const { res, body, w } = await get(atLumen(), { Range: "bytes=0-99" });
    expect(res.status).toBe(206);
    expect(res.headers.get("X-OCA-Source")).toBe("parent:ixp-nyc/ixp-nyc-2");
    expect(body).toEqual(t.files[SEG].slice(0, 100));
    expect(w.most).toBe(3);
    expect(w.cancelled).toEqual([]);
  });
});
