/**
 * Stock hls.js and dash.js follow this CDN's Content Steering with no custom code (issue 4), in real
 * headless Chromium (Debian's `chromium` driven by playwright-core; never a downloaded browser)
 * against the real Worker.
 *
 * `public/stock.html` (players bundled by `scripts/build-stock-players.ts`) is nothing but
 * `new Hls().loadSource(url)` / `dashjs.MediaPlayer().create().initialize(video, url, true)` with the
 * default configuration, except a capped forward buffer (the demo titles are 24 s long: a default
 * buffer would fetch them whole in the first seconds, leaving nothing to steer). Which OCA served a
 * request comes from the browser's resource timing (URL and status), not from the players.
 *
 * For each engine:
 *  - failure: the player starts on the pathway the play response ranks first; that OCA is failed
 *    through the admin API mid-stream (its URLs answer 503, the steering server drops it); playback
 *    goes on from the next pathway of the steering answer with no fatal error.
 *  - drain: the serving OCA is drained (it keeps serving, the steering server drops it), so nothing
 *    but the steering answer can move the player: it must move to the next pathway without a single
 *    failed request.
 *  - CMCD: the player's built-in CMCD option on (`&cmcd=query`), the browser's download throttled to
 *    40 kbit/s (Chromium's network emulation, through CDP) until the buffer runs dry: the OCAs read the
 *    player's CMCD and the session's home site shows its bytes (as the browser counted them) and its
 *    stall, with no SDK. (A throttled request still reaches the OCA, so the request that carries the
 *    stall flag arrives; an offline switch would drop exactly that request.)
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Placement } from "../../r2-seed/demo-placement";
import { buildStockPlayers } from "../../scripts/build-stock-players";
import { CHROMIUM, CI, launchChromium, warnIfSkipped } from "./chromium";
import { pressPlay, startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { admin, GEO_NYC, pollUntil, recordClientBench, setHealth } from "./sdk-harness";

warnIfSkipped("stock");

/** Forward buffer cap (s) handed to the stock page: about two 4 s segments ahead. */
const BUFFER_S = 6;
const OCAS = ["lumen-nyc/lumen-nyc-1", "lumen-nyc/lumen-nyc-2", "ixp-nyc/ixp-nyc-1"];

/** Two embedded OCAs in lumen-nyc and one at the New York IXP hold every title: three pathways before origin. */
function stockPlacement(titleIds: string[]): Placement[][] {
  return [
    [{ siteId: "ixp-nyc", ocaId: "ixp-nyc-1", titleIds }],
    [
      { siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds },
      { siteId: "lumen-nyc", ocaId: "lumen-nyc-2", titleIds },
    ],
  ];
}

type Engine = "hls" | "dash";

/** What `window.__stock` holds (see public/stock.html); times are the page's performance.now(). */
interface Req {
  at: number;
  end: number;
  oca: string;
  file: string;
  kind: "segment" | "init" | "playlist" | "other";
  status: number;
  /** Body bytes as the browser received them (resource timing's encodedBodySize). */
  bytes: number;
}
interface StockState {
  currentTime: number;
  ended: boolean;
  errors: Array<{ at: number; fatal: boolean; type: string; details: string; url?: string | null; status?: number | null }>;
  servedBy: Req[];
  steering: Array<{ at: number; end: number; query: string; status: number }>;
  stalls: Array<{ at: number; ms: number; positionS: number }>;
  stallingMs: number;
  now: number;
}

interface PlayInfo {
  sessionId: string;
  ocas: Array<{ siteId: string; ocaId: string }>;
  steering: { hls: string; dash: string; server: string };
}

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
const figures: Record<string, unknown> = {};

const state = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { __stock: Omit<StockState, "now"> }).__stock;
    return {
      currentTime: s.currentTime,
      ended: s.ended,
      errors: s.errors,
      servedBy: s.servedBy,
      steering: s.steering,
      stalls: s.stalls,
      stallingMs: s.stallingMs,
      now: performance.now(),
    };
  }) as Promise<StockState>;

/** Segment and init-segment requests (media bytes), and the ones that got them. */
const media = (s: StockState) => s.servedBy.filter((r) => r.kind === "segment" || r.kind === "init");
const ok = (r: Req) => r.status === 200 || r.status === 206;
const fatal = (s: StockState) => s.errors.filter((e) => e.fatal);

/** Presses play until the ranking holds all three OCAs (a restored OCA re-enters the steering view within seconds). */
async function playRanked(titleId: string): Promise<PlayInfo & { order: string[] }> {
  return pollUntil(
    async () => {
      const res = await pressPlay(stack, titleId, GEO_NYC);
      if (res.status !== 200) throw new Error(`play ${titleId}: ${res.status} ${await res.text()}`);
      const p = (await res.json()) as PlayInfo;
      const order = p.ocas.map((o) => `${o.siteId}/${o.ocaId}`);
      return OCAS.every((o) => order.includes(o)) ? { ...p, order } : null;
    },
    30_000,
    `a play response ranking ${OCAS.join(", ")}`,
    500,
  );
}

/** The steering server's current answer (HLS form), as a player would get it. */
async function steeringPriority(server: string): Promise<string[]> {
  const m = (await (await fetch(server)).json()) as Record<string, unknown>;
  return m["PATHWAY-PRIORITY"] as string[];
}

async function openStock(engine: Engine, src: string, extra = ""): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[stock ${engine}] page error:`, e.message));
  page.on("console", (m) => m.type() === "error" && !/Failed to load resource/.test(m.text()) && console.error(`[stock ${engine}] console:`, m.text()));
  await page.goto(`${stack.worker.url}/stock.html?engine=${engine}&buffer=${BUFFER_S}${extra}&src=${encodeURIComponent(src)}`);
  await page.waitForFunction(() => (window as unknown as { __stock?: { ready: boolean } }).__stock?.ready === true, null, { timeout: 30_000 });
  return page;
}

/** Starts a stock player on a fresh session; returns once it plays (> 1.5 s) from the first-ranked pathway. */
async function startOnFirstPathway(engine: Engine, titleId: string, extra = "") {
  const play = await playRanked(titleId);
  const first = play.order[0];
  const page = await openStock(engine, engine === "hls" ? play.steering.hls : play.steering.dash, extra);
  const before = await pollUntil(
    async () => {
      const s = await state(page);
      if (fatal(s).length) throw new Error(`fatal error before the start: ${JSON.stringify(fatal(s))}`);
      return s.currentTime > 1.5 && media(s).some(ok) ? s : null;
    },
    45_000,
    `${engine}: currentTime past 1.5 s`,
  );
  const servedFrom = [
    ...new Set(
      media(before)
        .filter(ok)
        .map((r) => r.oca),
    ),
  ];
  expect(
    servedFrom,
    `stock ${engine} starts on the pathway ranked first (${first}); steering requests: ${JSON.stringify(before.steering.map((q) => q.query))}`,
  ).toEqual([first]);
  expect(fatal(before)).toEqual([]);
  // The stock player runs its own steering controller: it asked the steering server already.
  expect(before.steering.length, `stock ${engine} queried the steering server`).toBeGreaterThan(0);
  return { play, first, page, before };
}

function summary(s: StockState, t0: number, from: string) {
  const rel = (t: number) => Math.round(t - t0);
  const after = media(s).filter((r) => r.at >= t0);
  const firstNew = after.find((r) => ok(r) && r.oca !== from);
  return {
    firstNew,
    figures: {
      switchMs: firstNew ? rel(firstNew.at) : null,
      switchDoneMs: firstNew ? rel(firstNew.end) : null,
      steeringAfterMs: s.steering.filter((q) => q.at >= t0).map((q) => rel(q.at)),
      failedRequestsAfterMs: after.filter((r) => r.status >= 400).map((r) => `${rel(r.at)} ${r.status} ${r.oca} ${r.file}`),
      nonFatalErrors: s.errors.filter((e) => !e.fatal).map((e) => `${rel(e.at)} ${e.type} ${e.details}`),
      stalls: s.stalls.map((x) => ({ atMs: rel(x.at), ms: Math.round(x.ms), positionS: Math.round(x.positionS * 100) / 100 })),
    },
  };
}

describe.skipIf(!CHROMIUM && !CI)("stock hls.js and dash.js on Content Steering, in headless Chromium", () => {
  beforeAll(async () => {
    await buildStockPlayers();
    stack = await startLocalStack(stockPlacement);
    browser = await launchChromium("stock");
    context = browser.context;
  });

  afterAll(async () => {
    if (Object.keys(figures).length) await recordClientBench("stockPlayers", figures);
    await browser?.close();
    await stack?.stop();
  });

  it("serves the stock page and both stock bundles", async () => {
    for (const file of ["/stock.html", "/stock-hls.js", "/stock-dash.js"]) {
      const res = await fetch(`${stack.worker.url}${file}`);
      expect(res.status, `${file} from Workers Static Assets (npx tsx scripts/build-stock-players.ts builds the bundles)`).toBe(200);
      await res.arrayBuffer();
    }
  });

  for (const engine of ["hls", "dash"] as const) {
    it(`stock ${engine === "hls" ? "hls.js" : "dash.js"} moves to the next pathway when the serving OCA fails mid-stream, with no fatal error`, {
      timeout: 240_000,
    }, async () => {
      const { play, first, page, before } = await startOnFirstPathway(engine, "sintel-sunrise");
      const [site, oca] = first.split("/");
      const failT = (await state(page)).now;
      await setHealth(stack, site, oca, "failed");
      try {
        // The steering server drops the failed OCA: its answer now starts with the next pathway.
        const priority = await pollUntil(
          async () => {
            const p = await steeringPriority(play.steering.server);
            return p.includes(oca) ? null : p;
          },
          15_000,
          `the steering answer without ${oca}`,
        );
        const next = play.order.find((o) => o.split("/")[1] === priority[0])!;
        expect(next, "the next pathway of the steering answer").toBe(play.order[1]);

        // Later media come from that pathway.
        const switched = await pollUntil(
          async () => {
            const s = await state(page);
            return media(s).some((r) => r.at >= failT && ok(r) && r.oca !== first) || s.ended ? s : null;
          },
          40_000,
          `${engine}: media from another OCA after the failure`,
        );
        const { firstNew } = summary(switched, failT, first);
        expect(firstNew?.oca, `stock ${engine} fetched media from the next pathway after ${first} failed`).toBe(next);

        // Playback goes on well past the failure, without a fatal error.
        const after = await pollUntil(
          async () => {
            const s = await state(page);
            return s.currentTime >= Math.min(before.currentTime + 8, 22) || s.ended ? s : null;
          },
          40_000,
          `${engine}: playback to go on after the failure`,
        );
        expect(fatal(after)).toEqual([]);
        expect(after.currentTime).toBeGreaterThan(before.currentTime + 4);
        // Once moved, every successful media request comes from the new pathway.
        const later = media(after).filter((r) => r.at >= firstNew!.at && ok(r));
        expect(new Set(later.map((r) => r.oca))).toEqual(new Set([next]));

        const f = {
          title: "sintel-sunrise",
          from: first,
          to: next,
          positionAtFailureS: Math.round(before.currentTime * 100) / 100,
          ...summary(after, failT, first).figures,
        };
        figures[`${engine}Failure`] = f;
        console.log(`[stock ${engine}] failure`, JSON.stringify(f));
      } finally {
        await setHealth(stack, site, oca, "healthy");
        await page.close();
      }
    });

    it(`stock ${engine === "hls" ? "hls.js" : "dash.js"} moves off a drained OCA on the steering answer alone, without a failed request`, {
      timeout: 240_000,
    }, async () => {
      const { play, first, page, before } = await startOnFirstPathway(engine, "orbit-city");
      const [site, oca] = first.split("/");
      const drainT = (await state(page)).now;
      await setHealth(stack, site, oca, "drained");
      try {
        const switched = await pollUntil(
          async () => {
            const s = await state(page);
            return media(s).some((r) => r.at >= drainT && ok(r) && r.oca !== first) || s.ended ? s : null;
          },
          40_000,
          `${engine}: media from another OCA after the drain`,
        );
        const { firstNew } = summary(switched, drainT, first);
        expect(
          firstNew?.oca,
          `stock ${engine} follows the steering answer off the drained ${first} (steering requests after the drain: ${JSON.stringify(switched.steering.filter((q) => q.at >= drainT).map((q) => q.query))})`,
        ).toBe(play.order[1]);
        // Nothing failed: the move can only have come from the steering answer, fetched after the drain.
        expect(media(switched).filter((r) => r.status >= 400)).toEqual([]);
        expect(switched.errors).toEqual([]);
        const steeredBy = switched.steering.find((q) => q.at >= drainT && q.status === 200);
        expect(steeredBy, "a steering request after the drain").toBeDefined();
        expect(firstNew!.at).toBeGreaterThanOrEqual(steeredBy!.at);

        const after = await pollUntil(
          async () => {
            const s = await state(page);
            return s.currentTime >= Math.min(before.currentTime + 8, 22) || s.ended ? s : null;
          },
          40_000,
          `${engine}: playback to go on after the drain`,
        );
        expect(after.errors).toEqual([]);

        const f = {
          title: "orbit-city",
          from: first,
          to: play.order[1],
          positionAtDrainS: Math.round(before.currentTime * 100) / 100,
          ...summary(after, drainT, first).figures,
        };
        figures[`${engine}Drain`] = f;
        console.log(`[stock ${engine}] drain`, JSON.stringify(f));
      } finally {
        await setHealth(stack, site, oca, "healthy");
        await page.close();
      }
    });

    it(`stock ${engine === "hls" ? "hls.js" : "dash.js"} with its CMCD option feeds the session's bytes and stall to its home site, with no SDK`, {
      timeout: 240_000,
    }, async () => {
      // dash.js holds its rung here (see stock.html): its request abandonment under throttling once ended in a decode error.
      const { play, page } = await startOnFirstPathway(engine, "signal-test", `&cmcd=query${engine === "dash" ? "&abr=fixed" : ""}`);
      try {
        // The browser's downloads slow to a trickle until the capped buffer (6 s) runs dry, then recover.
        const cdp = await context.newCDPSession(page);
        await cdp.send("Network.enable");
        const throttle = (downloadThroughput: number) =>
          cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput, uploadThroughput: -1 });
        await throttle(5_000);
        await pollUntil(async () => ((await state(page)).stallingMs > 500 ? true : null), 40_000, `${engine}: a stall while throttled`);
        await throttle(-1);
        const after = await pollUntil(
          async () => {
            const s = await state(page);
            return s.stalls.length > 0 && (s.currentTime >= 16 || s.ended) ? s : null;
          },
          90_000,
          `${engine}: playback to recover from the stall and go on`,
        );
        expect(fatal(after)).toEqual([]);
        // Wait out in-flight requests, then compare what the browser received with what the home site holds.
        await new Promise((r) => setTimeout(r, 1_500));
        const seen = (await state(page)).servedBy.filter(ok);
        const browserBytes = seen.reduce((n, r) => n + r.bytes, 0);
        type Cmcd = { requests: number; bytes: number; stalls: number; sid: string | null; titleId: string; countedBytes: number; bitrateKbps: number | null };
        let last: unknown = null;
        const home = await pollUntil(
          async () => {
            const r = await admin(stack, "GET", `/admin/sessions/${play.sessionId}/events`);
            const c = r.json.cmcd as Cmcd | null;
            last = c;
            return c && c.bytes >= browserBytes * 0.98 && c.stalls >= 1 ? { homeSiteId: r.json.homeSiteId as string, cmcd: c } : null;
          },
          20_000,
          `the session's CMCD at its home site (browser received ${browserBytes} bytes in ${seen.length} OCA responses)`,
        ).catch((err) => {
          throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
        });
        expect(home.homeSiteId).toBe("lumen-nyc");
        expect(home.cmcd.titleId).toBe("signal-test");
        expect(home.cmcd.sid, "the player's own CMCD session id").toMatch(/^[A-Za-z0-9-]{8,}$/);
        // Every OCA response carried CMCD; a request the player abandoned while throttled was counted by the OCA (it answered) but not received whole.
        expect(home.cmcd.requests).toBeGreaterThanOrEqual(seen.length);
        expect(home.cmcd.bytes).toBeLessThanOrEqual(browserBytes * 1.5);
        expect(home.cmcd.stalls).toBeGreaterThanOrEqual(1);
        expect(home.cmcd.bitrateKbps).toBeGreaterThan(0);
        // And the viewing history counts the session as those bytes (not its play estimate).
        expect(home.cmcd.countedBytes).toBe(home.cmcd.bytes);
        const f = { title: "signal-test", browserBytes, browserResponses: seen.length, pageStalls: after.stalls.length, home };
        figures[`${engine}Cmcd`] = f;
        console.log(`[stock ${engine}] cmcd`, JSON.stringify(f));
      } finally {
        await page.close();
      }
    });
  }
});
