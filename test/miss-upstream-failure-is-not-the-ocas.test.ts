import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * An OCA's 5xx is a health signal for that OCA only when the OCA itself failed. A miss whose walk to the
 * parent site and origin fails (origin down, a parent's bucket erroring) answers 5xx too, but the OCA's
 * own storage answered: counted as its error, an origin outage would fail every OCA of every site through
 * their misses, though their hits serve, and send every viewer down the list toward the origin that is down.
 * The buckets are wrapped to fail the parent's and origin's lookups of one file: the one thing mocked, as
 * the local R2 cannot fail on cue.
 */

const TITLE = "miss-upstream-title";
const HELD = "miss-upstream-held";
const SEG = "video/avc-480p/seg-00001.m4s";
const SITE = "lumen-nyc";
const OCA = "lumen-nyc-1";
let play: PlayResponse;
let held: PlayResponse;

/** `bucket` whose lookups of keys matching `fails` throw, as an R2 outage's would. */
function failing(bucket: R2Bucket, fails: (key: string) => boolean): R2Bucket {
  return new Proxy(bucket, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === "get" || prop === "head")
        return (key: string, ...rest: unknown[]) => {
          if (fails(key)) return Promise.reject(new Error("injected: R2 unreachable"));
          return (value as (...a: unknown[]) => unknown).apply(target, [key, ...rest]);
        };
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const upstreamDown = {
  ...env,
  TIER_NA: failing(env.TIER_NA, (k) => k.startsWith("ixp-nyc/") && k.includes(TITLE)),
  ORIGIN: failing(env.ORIGIN, (k) => k.includes(TITLE) && k.endsWith(SEG)),
};

async function get(url: string, with_: Env = upstreamDown): Promise<number> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url), with_, ctx);
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res.status;
}

/** The OCA's traffic signals as its site has them (requests and errors of the window's buckets). */
async function traffic(): Promise<{ requests: number; errors: number }> {
  const site = env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
  return runInDurableObject(site, (_o, state) =>
    state.storage.sql
      .exec<{ requests: number; errors: number }>(
        `SELECT COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(errors), 0) AS errors FROM oca_traffic WHERE oca_id = ?`,
        OCA,
      )
      .one(),
  );
}

const on = (p: PlayResponse, path: string) => `${p.ocas[0].url.replace(/\/oca\/[^/]+\/[^/]+\//, `/oca/${SITE}/${OCA}/`)}${path}`;

beforeAll(async () => {
  await publishTitle(TITLE);
  await publishTitle(HELD);
  // lumen-nyc-1 holds HELD, not TITLE: TITLE's segment is a miss there.
  expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: [HELD] }])).status).toBe(200);
  play = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  held = (await (await pressPlay(await memberToken("premium"), { titleId: HELD }, GEO.lumenNyc)).json()) as PlayResponse;
  // The title's version index read while origin answers (an isolate keeps it: it never changes).
  expect(await get(on(play, "master.m3u8"), env)).toBe(200);
});

describe("a miss whose parent and origin fail", () => {
  it("answers 5xx but is no error of the OCA, whose hits still serve and count", async () => {
    const before = await traffic();
    for (let k = 0; k < 6; k++) expect(await get(on(play, SEG))).toBeGreaterThanOrEqual(500);
    for (let k = 0; k < 2; k++) expect(await get(on(held, SEG))).toBe(200);
    // The isolate's report reaches the site (its flush runs behind the requests).
    let after = await traffic();
    for (let i = 0; i < 40 && after.requests - before.requests < 8; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await traffic();
    }
    expect(after.requests - before.requests).toBeGreaterThanOrEqual(8);
    expect(after.errors - before.errors).toBe(0);
  });
});
