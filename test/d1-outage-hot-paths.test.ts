import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { catalogueCache } from "../workers/control/catalogue-cache";
import { forgetTopologyLooks } from "../workers/shared/topology-live";
import { type D1Fault, fault, faultyDb } from "./faulty-d1";
import { fill, GEO, memberToken, publishTitle, type PlayResponse } from "./fixtures";

/**
 * D1 failing or slow, request by request, as an SRE walks an incident. The Worker runs with its D1
 * binding wrapped (the one thing mocked: the local runtime cannot make D1 fail or stall on cue): each
 * statement's call and each batch can fail at once ("down") or hang until the test lets it go ("slow",
 * a D1 call that would take its full 30 s). A hung call's request answers without it; the call itself
 * is released at the end of each case.
 */

const WARM = "outage-warm";
const COLD = "outage-cold";
/**
 * Titles no request has read yet, one per case that needs one: a title another case read sits in the
 * colo's cache (workers/control/colo-loads.ts), and plays while D1 is out, as it should.
 */
const COLD_SLOW = "outage-cold-slow";
const COLD_DOWN = "outage-cold-down";
const DEVICE = { codecs: ["avc1", "mp4a"], maxHeight: 1080 };
/** A request that waits on a hung D1 call answers within the view's bounds, far below this. */
const HUNG_MS = 12_000;

interface Answer {
  res: Response | null;
  ms: number;
  /** The request's background work (kept by waitUntil): settles once hung calls are released. */
  done: Promise<void>;
}

/** One request; `res` is null when it has not answered within HUNG_MS (it waited on a hung D1 call). */
async function request(path: string, init: RequestInit & { geo?: string }, f: D1Fault, ttl = "1"): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.geo) headers.set("X-Client-Geo", init.geo);
  const ctx = createExecutionContext();
  const started = Date.now();
  const answer = Promise.resolve(
    worker.fetch(new Request(`http://cdn.test${path}`, { ...init, headers }), { ...env, CATALOGUE_TTL_S: ttl, DB: faultyDb(f) }, ctx),
  );
  const res = await Promise.race([answer, new Promise<null>((r) => setTimeout(() => r(null), HUNG_MS))]);
  const ms = Date.now() - started;
  return { res, ms, done: answer.then(() => waitOnExecutionContext(ctx)) };
}

const play = async (f: D1Fault, titleId = WARM, ttl = "1") =>
  request(
    "/v1/play",
    {
      method: "POST",
      headers: { Authorization: `Bearer ${await memberToken("premium")}`, "Content-Type": "application/json" },
      body: JSON.stringify({ titleId, device: DEVICE }),
      geo: GEO.lumenNyc,
    },
    f,
    ttl,
  );
const browse = async (f: D1Fault) => request("/v1/titles", { headers: { Authorization: `Bearer ${await memberToken("premium")}` }, geo: GEO.lumenNyc }, f);

/** Lets the case's hung calls go and waits for every request's background work (D1 back for them). */
async function settle(f: D1Fault, answers: Answer[]): Promise<void> {
  f.release();
  await Promise.all(answers.map((a) => a.done));
}

/**
 * Makes the catalogue view older than twice the TTL (1 s here: past it a request must look at D1's
 * changes before it answers) while the topology's own look is fresh, so only the catalogue is asked.
 */
async function staleCatalogue(): Promise<void> {
  await new Promise((r) => setTimeout(r, 2_100));
  forgetTopologyLooks();
  const up = fault();
  const a = await request("/v1", {}, up);
  expect(a.res?.status).toBe(200);
  await a.done;
}

/** The catalogue's change look (the one statement that brings the changed titles and the topology's version). */
const changeLook = (sql: string) => sql.includes("view_changed_at") && sql.includes("topology_version");

/** An answer's JSON body (the request must have answered). */
async function json(a: Answer): Promise<unknown> {
  if (!a.res) throw new Error(`no answer within ${HUNG_MS} ms`);
  return a.res.json();
}

async function expectUnavailable(a: Answer): Promise<void> {
  expect(a.res?.status).toBe(503);
  expect(a.res?.headers.get("Retry-After")).toBe("5");
  expect(((await json(a)) as { error: { code: string } }).error.code).toBe("catalogue_unavailable");
}

beforeAll(async () => {
  await publishTitle(WARM);
  await publishTitle(COLD);
  await publishTitle(COLD_SLOW);
  await publishTitle(COLD_DOWN);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [WARM] }])).status).toBe(200);
});

describe("a slow D1 (a call that takes its full 30 s)", () => {
  it("does not hold plays, browses or polls of what the isolate holds: they answer from the stale view", { timeout: 90_000 }, async () => {
    catalogueCache.clear();
    const up = fault();
    const warm = await play(up);
    expect(warm.res?.status).toBe(200);
    const session = (await json(warm)) as PlayResponse;
    const b = await browse(up);
    expect(b.res?.status).toBe(200);
    const poll = await request(new URL(session.steering.server).pathname, {}, up);
    expect(poll.res?.status).toBe(200);
    await Promise.all([warm.done, b.done, poll.done]);

    await staleCatalogue();
    const slow = fault("slow");
    // The first request finds D1 slow: it waits a moment (the view's look), not the call's 30 s.
    const first = await play(slow);
    expect(first.res?.status).toBe(200);
    expect(first.ms).toBeLessThan(4_000);
    // Those after it know D1 is failing: they answer at once from what is held.
    const answers = [first];
    for (const next of [() => play(slow), () => browse(slow), () => request(new URL(session.steering.server).pathname, {}, slow)]) {
      const a = await next();
      answers.push(a);
      expect(a.res?.status).toBe(200);
      expect(a.ms).toBeLessThan(1_500);
    }
    // A title this isolate never read: 503 catalogue_unavailable at once, not after the call's 30 s.
    const cold = await play(slow, COLD);
    answers.push(cold);
    await expectUnavailable(cold);
    expect(cold.ms).toBeLessThan(1_500);
    await settle(slow, answers);
    // D1 answers again: past the TTL the isolate looks again by itself (behind a request's answer while it
    // hung), and the title it never read plays; nothing stays stuck on the hung look.
    await new Promise((r) => setTimeout(r, 1_100));
    const back = fault();
    const statuses: number[] = [];
    for (let i = 0; i < 2 && statuses.at(-1) !== 200; i++) {
      const a = await play(back, COLD);
      statuses.push(a.res?.status ?? 0);
      await a.done;
    }
    expect(statuses.at(-1)).toBe(200);
  });

  it("answers a title it never read with 503 catalogue_unavailable within its bound, not after D1's 30 s", { timeout: 90_000 }, async () => {
    catalogueCache.clear();
    const up = fault();
    const warm = await play(up);
    expect(warm.res?.status).toBe(200);
    await warm.done;
    await staleCatalogue();
    // The look and the title's load each have a bound: the answer is a clear 503, well within a client's 15 s.
    const slow = fault("slow");
    const cold = await play(slow, COLD_SLOW);
    await expectUnavailable(cold);
    expect(cold.ms).toBeLessThan(8_000);
    await settle(slow, [cold]);
  });
});

describe("a slow D1 met first by a browse", () => {
  it("answers a country never read with 503 within the read's bound, and the next at once", { timeout: 90_000 }, async () => {
    catalogueCache.clear();
    const up = fault();
    const warm = await play(up);
    expect(warm.res?.status).toBe(200);
    await warm.done;
    const slow = fault("slow");
    const browseIn = async (f: D1Fault, country: string) =>
      request("/v1/titles", { headers: { Authorization: `Bearer ${await memberToken("premium")}` }, geo: `country=${country}` }, f);
    // Nothing tells the isolate yet that D1 hangs: the browse list's load waits its bound, not the call's 30 s.
    const first = await browseIn(slow, "JP");
    await expectUnavailable(first);
    expect(first.ms).toBeLessThan(8_000);
    // D1 is known to hang now: another country's list is refused at once.
    const second = await browseIn(slow, "FR");
    await expectUnavailable(second);
    expect(second.ms).toBeLessThan(1_500);
    await settle(slow, [first, second]);
  });
});

describe("a D1 that fails", () => {
  it("is looked at once per TTL while it refuses, cached titles play, and the isolate recovers by itself once it is back", { timeout: 60_000 }, async () => {
    catalogueCache.clear();
    const up = fault();
    const warm = await play(up, WARM, "5");
    expect(warm.res?.status).toBe(200);
    await warm.done;
    // The next request must look at D1's changes before it answers (as after a registration here).
    catalogueCache.changedHere();
    const down = fault("down");
    const first = await play(down, WARM, "5");
    expect(first.res?.status).toBe(200);
    await first.done;
    const looks = (f: D1Fault) => f.sql.filter(changeLook).length;
    const asked = looks(down);
    expect(asked).toBeGreaterThan(0);
    // Within the TTL after the failure: cached titles play, a cold one is refused (its load asked, refused at once), no look again.
    for (let i = 0; i < 3; i++) {
      const a = await play(down, WARM, "5");
      expect(a.res?.status).toBe(200);
      await a.done;
    }
    const cold = await play(down, COLD_DOWN, "5");
    await expectUnavailable(cold);
    await cold.done;
    expect(looks(down)).toBe(asked);
    // D1 back: once the TTL has passed (1 s for this request), the next request looks again and the title it never read plays.
    await new Promise((r) => setTimeout(r, 1_100));
    const again = await play(fault(), COLD_DOWN, "1");
    expect(again.res?.status).toBe(200);
    await again.done;
  });

  it("does not fail a steering poll whose session's version is held because the title's own entry is not", { timeout: 60_000 }, async () => {
    catalogueCache.clear();
    const up = fault();
    const p = await play(up);
    expect(p.res?.status).toBe(200);
    const session = (await json(p)) as PlayResponse;
    await p.done;
    // Another isolate's view: the session's version is loaded by a first poll (no throughput yet), the title is not.
    catalogueCache.clear();
    const path = new URL(session.steering.server).pathname;
    const start = await request(`${path}?start=1`, {}, up, "5");
    expect(start.res?.status).toBe(200);
    await start.done;
    const down = fault("down");
    const measured = await request(`${path}?_HLS_pathway=${session.ocas[0].ocaId}&_HLS_throughput=50000000`, {}, down, "5");
    expect(measured.res?.status).toBe(200);
    expect(((await json(measured)) as { "PATHWAY-PRIORITY": string[] })["PATHWAY-PRIORITY"][0]).toBe(session.ocas[0].ocaId);
    await measured.done;
  });
});
