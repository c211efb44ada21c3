/**
 * The SDK inside stock Shaka Player and dash.js (client/player/shaka-adapter.ts, dash-adapter.ts), in
 * real headless Chromium (Debian's `chromium` through playwright-core) against the real Worker.
 *
 * `public/sdk-adapters.html` (bundle built by `scripts/build-sdk-adapters.ts`) presses play with the
 * SDK, then hands the session's steered MPD to a stock player with nothing but the adapter attached.
 * Which OCA served a request comes from the browser's resource timing; what the session decided
 * comes from the session itself (`window.__sdk`).
 *
 * For each engine: playback starts on the session's first-ranked OCA; that OCA is failed through the
 * admin API mid-stream (its URLs answer 503, the steering server drops it); the stock player goes on
 * from another OCA with no fatal error; the session recorded the move off the failed OCA (a
 * failover when a request saw the 503 first, a steering move when the player's steering poll did),
 * and playback goes well past the failure point.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pressPlay, startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { buildSdkAdapters } from "../../scripts/build-sdk-adapters";
import { CHROMIUM, CI, launchChromium, warnIfSkipped } from "./chromium";
import { admin, FORBIDDEN, failoverPlacement, GEO_NYC, pollUntil, type Refusal, refuseSegments, setHealth, TOO_MANY_STREAMS } from "./sdk-harness";

warnIfSkipped("sdk-adapters");

/** Forward buffer cap (s): about two 4 s segments ahead (the demo titles are 24 s long). */
const BUFFER_S = 6;
const OCAS = ["lumen-nyc/lumen-nyc-1", "lumen-nyc/lumen-nyc-2", "ixp-nyc/ixp-nyc-1"];

type Engine = "shaka" | "dash";

interface Req {
  at: number;
  end: number;
  oca: string;
  /** The URL token in the request's path (the session's, or a renewed one's). */
  token: string;
  file: string;
  kind: "segment" | "init" | "playlist" | "other";
  status: number;
}
/** What `window.__sdk` holds (see public/sdk-adapters.html); times are the page's performance.now(). */
interface AdapterState {
  ready: boolean;
  currentTime: number;
  ended: boolean;
  sessionId: string | null;
  ocas: string[];
  startOca: string | null;
  playerAt: number | null;
  current: string | null;
  switches: Array<{ at: number; from: string; to: string; reason: string }>;
  failovers: Array<{ at: number; from: string; to: string; reason: string }>;
  sdkErrors: Array<{ at: number; name: string; ocaId: string | null; status: number | null; apiCode: string | null }>;
  errors: Array<{ at: number; fatal: boolean; type: string; details: string }>;
  servedBy: Req[];
  steeringPolls: Array<{ at: number; token: string; status: number }>;
  now: number;
}

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

const state = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { __sdk: Omit<AdapterState, "now"> }).__sdk;
    return {
      ready: s.ready,
      currentTime: s.currentTime,
      ended: s.ended,
      sessionId: s.sessionId,
      ocas: s.ocas,
      startOca: s.startOca,
      playerAt: s.playerAt,
      current: s.current,
      switches: s.switches,
      failovers: s.failovers,
      sdkErrors: s.sdkErrors,
      errors: s.errors,
      servedBy: s.servedBy,
      steeringPolls: s.steeringPolls,
      now: performance.now(),
    };
  }) as Promise<AdapterState>;

/** The player's segment and init-segment requests (the SDK's probes, made before the player started, left out). */
const media = (s: AdapterState) => s.servedBy.filter((r) => (r.kind === "segment" || r.kind === "init") && s.playerAt !== null && r.at >= s.playerAt);
const ok = (r: Req) => r.status === 200 || r.status === 206;
const fatal = (s: AdapterState) => s.errors.filter((e) => e.fatal);

/** Waits until a play response ranks all three OCAs again (a restored OCA re-enters the steering view within seconds). */
async function allRanked(titleId: string): Promise<void> {
  await pollUntil(
    async () => {
      const res = await pressPlay(stack, titleId, GEO_NYC);
      if (res.status !== 200) throw new Error(`play ${titleId}: ${res.status} ${await res.text()}`);
      const p = (await res.json()) as { ocas: Array<{ siteId: string; ocaId: string }> };
      const order = p.ocas.map((o) => `${o.siteId}/${o.ocaId}`);
      return OCAS.every((o) => order.includes(o));
    },
    30_000,
    `a play response ranking ${OCAS.join(", ")}`,
    500,
  );
}

async function openPage(engine: Engine, titleId: string): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[adapters ${engine}] page error:`, e.message));
  page.on("console", (m) => m.type() === "error" && !/Failed to load resource/.test(m.text()) && console.error(`[adapters ${engine}] console:`, m.text()));
  const q = new URLSearchParams({ engine, title: titleId, geo: GEO_NYC, buffer: String(BUFFER_S) });
  await page.goto(`${stack.worker.url}/sdk-adapters.html?${q}`);
  await pollUntil(
    async () => {
      const s = await state(page);
      if (fatal(s).length) throw new Error(`fatal error while starting: ${JSON.stringify(fatal(s))}`);
      return s.ready;
    },
    60_000,
    `${engine}: the page to press play and start the player`,
  );
  return page;
}

describe.skipIf(!CHROMIUM && !CI)("the SDK inside stock Shaka Player and dash.js, in headless Chromium", () => {
  beforeAll(async () => {
    await buildSdkAdapters();
    stack = await startLocalStack(failoverPlacement);
    browser = await launchChromium("sdk-adapters");
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("serves the page and its bundle", async () => {
    for (const file of ["/sdk-adapters.html", "/sdk-adapters.js"]) {
      const res = await fetch(`${stack.worker.url}${file}`);
      expect(res.status, `${file} from Workers Static Assets (npx tsx scripts/build-sdk-adapters.ts builds the bundle)`).toBe(200);
      const body = await res.text();
      expect(body).toContain(file.endsWith(".html") ? "attachShaka" : "attachDashjs");
    }
  });

  for (const engine of ["shaka", "dash"] as const) {
    const name = engine === "shaka" ? "Shaka Player" : "dash.js";
    it(`stock ${name} with the SDK's adapter goes on from another OCA when the serving OCA fails mid-stream, and the session records the move`, {
      timeout: 300_000,
    }, async () => {
      await allRanked("sintel-sunrise");
      const page = await openPage(engine, "sintel-sunrise");
      let victim: { site: string; oca: string } | null = null;
      try {
        // Playback starts on the session's pick (its first-ranked OCA: `pathwayPriority()[0]`).
        const before = await pollUntil(
          async () => {
            const s = await state(page);
            if (fatal(s).length) throw new Error(`fatal error before the failure: ${JSON.stringify(fatal(s))}`);
            return s.currentTime > 1.5 && media(s).some(ok) ? s : null;
          },
          60_000,
          `${name}: currentTime past 1.5 s`,
        );
        expect(
          OCAS.every((o) => before.ocas.includes(o)),
          `the session's OCAs: ${before.ocas}`,
        ).toBe(true);
        // The first media come from the session's pick, and every one since from an OCA the session was on
        // (a steering answer the player fetched may already have moved it).
        const served = media(before).filter(ok);
        expect(served[0].oca, `${name} starts on the session's OCA (switches ${JSON.stringify(before.switches)})`).toBe(before.startOca);
        const sessionOcas = new Set([before.startOca, ...before.switches.map((x) => x.to)]);
        expect(
          served.filter((r) => !sessionOcas.has(r.oca)),
          `${name} fetched media only from the session's OCAs`,
        ).toEqual([]);
        const first = before.current!;
        expect(served.at(-1)!.oca).toBe(first);

        const [site, oca] = first.split("/");
        victim = { site, oca };
        const failT = (await state(page)).now;
        await setHealth(stack, site, oca, "failed");

        // The session moves off the failed OCA, and the player's media come from where it moved.
        const moved = await pollUntil(
          async () => {
            const s = await state(page);
            const sw = s.switches.find((x) => x.from === first && x.at >= failT);
            return sw && media(s).some((r) => r.at >= failT && ok(r) && r.oca === sw.to) ? { s, sw } : null;
          },
          60_000,
          `${name}: the session to leave ${first} and media from the OCA it moved to`,
        );
        const { sw } = moved;
        expect(sw.to).not.toBe(first);
        expect(OCAS).toContain(sw.to);
        // A request that met the 503 made the session fail over (reported by the adapter); a steering
        // answer the player fetched first makes it a steering move, with no request failed.
        expect(sw.reason).toMatch(/^(http_503 |steering$)/);
        const failedOnVictim = media(moved.s).filter((r) => r.at >= failT && r.oca === first && r.status === 503);
        if (sw.reason.startsWith("http_503")) {
          expect(moved.s.failovers).toContainEqual(expect.objectContaining({ from: first, to: sw.to, reason: sw.reason }));
          expect(failedOnVictim.length, "the 503 the adapter reported").toBeGreaterThan(0);
        }
        // Every 503 the player met on the failed OCA reached the session as an HTTP error of that OCA.
        if (failedOnVictim.length) expect(moved.s.sdkErrors).toContainEqual(expect.objectContaining({ name: "OCA_HTTP_ERROR", ocaId: oca, status: 503 }));

        // Playback goes on well past the failure, without a fatal error, from the new OCA.
        const after = await pollUntil(
          async () => {
            const s = await state(page);
            if (fatal(s).length) throw new Error(`fatal error after the failure: ${JSON.stringify(fatal(s))}`);
            return s.currentTime >= Math.min(before.currentTime + 8, 22) || s.ended ? s : null;
          },
          90_000,
          `${name}: playback to go on after the failure`,
        );
        expect(fatal(after)).toEqual([]);
        expect(after.currentTime).toBeGreaterThan(before.currentTime + 4);
        const firstNew = media(after).find((r) => r.at >= failT && ok(r) && r.oca !== first)!;
        const later = media(after).filter((r) => r.at > firstNew.end && ok(r));
        const movedTo = new Set(after.switches.filter((x) => x.at >= failT).map((x) => x.to));
        expect(later.length).toBeGreaterThan(0);
        // Shaka's URIs are put in the session's order on every request, so its media follow the session.
        // dash.js keeps its own choice of BaseURL among OCAs the session has not penalty-boxed (the
        // adapter moves it only off those), so its media come from any OCA but the failed one: when the
        // session's probes rank the IXP above the site peer, dash.js may stay on the peer.
        expect(
          later.filter((r) => r.oca === first || (engine === "shaka" && !movedTo.has(r.oca))),
          `${name}: media after the move come from ${engine === "shaka" ? "where the session went" : "an OCA other than the failed one"} (session moved to ${[...movedTo]})`,
        ).toEqual([]);
        expect(after.current).not.toBe(first);
        // The player's own CMCD, turned on by the adapter with the session's ids, reached the session's home site.
        const home = await pollUntil(
          async () => {
            const r = await admin(stack, "GET", `/admin/sessions/${after.sessionId}/events`);
            return r.json.cmcd && r.json.cmcd.requests >= later.length ? (r.json as { homeSiteId: string; cmcd: { sid: string; bytes: number } }) : null;
          },
          20_000,
          `${name}: the session's CMCD at its home site`,
        );
        expect(home.homeSiteId).toBe("lumen-nyc");
        expect(home.cmcd.sid, `${name}'s CMCD carries the session's id`).toBe(after.sessionId);
        expect(home.cmcd.bytes).toBeGreaterThan(0);
        console.log(
          `[adapters ${engine}]`,
          JSON.stringify({
            from: first,
            to: sw.to,
            reason: sw.reason,
            positionAtFailureS: Math.round(before.currentTime * 100) / 100,
            moveMs: Math.round(sw.at - failT),
            failedRequests: failedOnVictim.map((r) => `${Math.round(r.at - failT)} ${r.file}`),
            nonFatalErrors: after.errors.map((e) => `${Math.round(e.at - failT)} ${e.type} ${e.details}`),
            reachedS: Math.round(after.currentTime * 100) / 100,
          }),
        );
      } finally {
        await page.close();
        if (victim) await setHealth(stack, victim.site, victim.oca, "healthy");
      }
    });
  }

  for (const engine of ["shaka", "dash"] as const) {
    const name = engine === "shaka" ? "Shaka Player" : "dash.js";
    it(`stock ${name} with the SDK's adapter asks for every file and steering answer under the renewed session's tokens after a renewal mid-play, and plays on`, {
      timeout: 180_000,
    }, async () => {
      await allRanked("sintel-sunrise");
      const page = await openPage(engine, "sintel-sunrise");
      try {
        // The player has fetched media and polled the session's steering server before the renewal.
        const before = await pollUntil(
          async () => {
            const s = await state(page);
            if (fatal(s).length) throw new Error(`fatal error before the renewal: ${JSON.stringify(fatal(s))}`);
            return s.currentTime > 2 && media(s).some(ok) && s.steeringPolls.length > 0 ? s : null;
          },
          60_000,
          `${name}: 2 s of playback and a steering poll`,
        );
        const renewed = await page.evaluate(async () => {
          const ok = await (window as unknown as { __sdk: { renew(r: string): Promise<boolean> } }).__sdk.renew("test: renewal mid-play");
          return { ok, at: performance.now() };
        });
        expect(renewed.ok).toBe(true);
        const after = await pollUntil(
          async () => {
            const s = await state(page);
            if (fatal(s).length) throw new Error(`fatal error after the renewal: ${JSON.stringify(fatal(s))}`);
            return (s.currentTime >= Math.min(before.currentTime + 8, 22) || s.ended) && s.steeringPolls.some((p) => p.at > renewed.at) ? s : null;
          },
          90_000,
          `${name}: playback and steering polls to go on after the renewal`,
        );
        expect(fatal(after)).toEqual([]);
        expect(after.sessionId).not.toBe(before.sessionId);
        const oldToken = media(before).find(ok)!.token;
        const later = after.servedBy.filter((r) => r.at > renewed.at);
        expect(media(after).filter((r) => r.at > renewed.at && ok(r)).length, `${name}: media after the renewal`).toBeGreaterThan(0);
        expect(
          later.filter((r) => r.token === oldToken).map((r) => `${r.oca} ${r.file} ${r.status}`),
          `${name}: OCA requests under the stopped session's token`,
        ).toEqual([]);
        const oldSteering = before.steeringPolls[0].token;
        expect(
          after.steeringPolls.filter((p) => p.at > renewed.at && p.token === oldSteering).length,
          `${name}: steering polls under the stopped session's token`,
        ).toBe(0);
      } finally {
        await page.close();
      }
    });
  }

  // Shaka 5.2 retries a 409 and a 403 alike (the adapter hears both in its `retry` event); dash.js through its response interceptor.
  const refusals: Array<[Engine, Refusal]> = [
    ["shaka", TOO_MANY_STREAMS],
    ["dash", TOO_MANY_STREAMS],
    ["shaka", FORBIDDEN],
  ];
  for (const [engine, refusalSent] of refusals) {
    const name = engine === "shaka" ? "Shaka Player" : "dash.js";
    it(`stock ${name} with the SDK's adapter: an OCA's refusal (${refusalSent.status} ${refusalSent.code}) stops the session with HTTP_REFUSED and the API's code, with no failover${engine === "shaka" ? " and no try of another OCA" : ""}`, {
      timeout: 120_000,
    }, async () => {
      await allRanked("orbit-city");
      const page = await openPage(engine, "orbit-city");
      try {
        await pollUntil(
          async () => {
            const s = await state(page);
            return s.currentTime > 1 && media(s).some(ok) ? s : null;
          },
          60_000,
          `${name}: currentTime past 1 s`,
        );
        // Every segment from here on gets the edge's own refusal, in the edge's words (see refuseSegments).
        const refusedAt = (await state(page)).now;
        await refuseSegments(page, refusalSent);
        const s = await pollUntil(
          async () => {
            const st = await state(page);
            return st.sdkErrors.some((e) => e.name === "HTTP_REFUSED") ? st : null;
          },
          60_000,
          `${name}: the session to stop on the refusal`,
        );
        const refusal = s.sdkErrors.find((e) => e.name === "HTTP_REFUSED")!;
        expect(refusal).toMatchObject({ status: refusalSent.status, apiCode: refusalSent.code });
        expect(OCAS).toContain(`${s.current}`);
        // No OCA was charged with the refusal: no failover, no OCA error, after it.
        expect(s.failovers.filter((f) => f.at >= refusedAt)).toEqual([]);
        expect(s.sdkErrors.filter((e) => e.at >= refusedAt && e.name !== "HTTP_REFUSED")).toEqual([]);
        // Nor did Shaka take the refused files to the other OCAs, which would refuse them alike: the
        // adapter cancels its tries (3 s of its requests). dash.js is not held to this: it moves to its
        // next BaseURL on a failure by itself, and one CI run saw it ask lumen-nyc-2 once after the refusal.
        if (engine === "shaka") {
          await new Promise((r) => setTimeout(r, 3_000));
          const after = media(await state(page)).filter((r) => r.at >= refusedAt);
          expect(after.filter((r) => r.oca !== s.current).map((r) => `${r.oca} ${r.file} ${r.status}`)).toEqual([]);
        }
      } finally {
        await page.close();
      }
    });
  }
});
