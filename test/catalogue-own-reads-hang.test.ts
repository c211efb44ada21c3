import { env } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { catalogueCache, LOOK_WAIT_MS } from "../workers/control/catalogue-cache";
import { lookWindowMs, type SeenState, shareLook } from "../workers/control/colo-look";
import { catalogueDb } from "../workers/shared/catalogue-db";
import { coloNamespace } from "../workers/shared/colo-namespace";
import { ApiError } from "../workers/shared/errors";
import { forgetTopologyLooks } from "../workers/shared/topology-live";
import { type D1Fault, fault, faultyDb } from "./faulty-d1";
import { publishTitle } from "./fixtures";

/**
 * D1 hanging for one isolate while its colo's shared answers keep coming (other isolates reach D1, or
 * an answer from before the hang is still in the colo cache). A shared answer refreshes the isolate's
 * view, but it proves nothing of the isolate's own reads: once one of them hung, no request may wait on
 * another until one of its own reads is answered again. One test isolate stands for the isolate; an
 * answer put with `shareLook` is what another isolate of the colo got from D1. D1 is wrapped so that
 * its calls hang on cue (the local runtime cannot).
 */

const NS = coloNamespace(env);
const WARM = "own-hang-warm";
/** Titles no request has read, one per case: none is in the colo's cache, so a load must ask D1 itself. */
const COLD = ["own-hang-cold-1", "own-hang-cold-2", "own-hang-cold-3"];
const TTL_S = "2";
const TTL_MS = 2_000;
/** What a request may take while the isolate knows its D1 hangs: a colo cache read or two, never a D1 bound (2 s, 5 s). */
const NO_WAIT_MS = 700;

const withDb = (db: D1Database) => ({ ...env, CATALOGUE_TTL_S: TTL_S, DB: db }) as Env;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The state a look sees now, and D1's answer for it, as another isolate of the colo got it. */
async function answerNow(): Promise<{ seen: NonNullable<SeenState>; look: Awaited<ReturnType<typeof catalogueDb.changedSince>> }> {
  const { latest, mark } = await catalogueDb.changedSince(env.DB, Number.MAX_SAFE_INTEGER, null);
  const seen = { latest, mark };
  return { seen, look: await catalogueDb.changedSince(env.DB, latest - 2_000, seen) };
}

/** Starts at the beginning of a window of the shared answer, so an answer put now serves the look that follows. */
async function windowStart(): Promise<void> {
  const w = lookWindowMs(TTL_MS);
  await sleep(w - (Date.now() % w) + 10);
}

/** Elapsed ms of `run`, and what it gave (or threw). */
async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value?: T; err?: unknown }> {
  const started = Date.now();
  try {
    const value = await run();
    return { ms: Date.now() - started, value };
  } catch (err) {
    return { ms: Date.now() - started, err };
  }
}

interface Isolate {
  f: D1Fault;
  env: Env;
  /** Background work the requests left behind (their waitUntil). */
  behind: Promise<unknown>[];
  waitUntil: (p: Promise<unknown>) => void;
  /** Puts the colo's answer for the isolate's state in the current window (another isolate of the colo reached D1). */
  share: () => Promise<void>;
}

/**
 * An isolate that holds WARM and learnt its D1 hangs (a look it waited for went unanswered), then took
 * the colo's shared answer for its state: its view is fresh again, its own reads still hang.
 */
async function hungIsolateWithSharedAnswer(): Promise<Isolate> {
  const f = fault();
  const behind: Promise<unknown>[] = [];
  const { seen, look } = await answerNow();
  const share = async () => {
    await windowStart();
    await shareLook(NS, TTL_MS, Date.now(), seen, look);
  };
  const iso: Isolate = { f, env: withDb(faultyDb(f)), behind, waitUntil: (p) => behind.push(p), share };
  // Its own look in D1, then the title: the view holds WARM at the current state.
  catalogueCache.changedHere();
  expect((await catalogueCache.title(iso.env, WARM, iso.waitUntil))?.title.id).toBe(WARM);

  // D1 hangs for this isolate: a request that must look waits LOOK_WAIT_MS (nothing told it yet), then D1
  // is known to hang. A window no answer was put in yet, so the look asks D1 (an earlier case's answer for
  // the same state would serve it).
  f.mode = "slow";
  await windowStart();
  catalogueCache.staleNow();
  const first = await timed(() => catalogueCache.title(iso.env, WARM, iso.waitUntil));
  expect(first.value?.title.id).toBe(WARM);
  expect(first.ms, "the look that finds D1 hanging").toBeGreaterThanOrEqual(LOOK_WAIT_MS - 100);
  expect(first.ms).toBeLessThan(LOOK_WAIT_MS + 1_000);

  // Another isolate of the colo has D1's answer for the same state: once a TTL has passed since the
  // hung look ended (its read's bound), a request's look, behind its answer, takes it.
  const shared = catalogueCache.sharedLooks;
  for (let i = 0; i < 12 && catalogueCache.sharedLooks === shared; i++) {
    await share();
    const next = await timed(() => catalogueCache.title(iso.env, WARM, iso.waitUntil));
    expect(next.value?.title.id).toBe(WARM);
    expect(next.ms, "a request while the colo's answer is taken").toBeLessThan(NO_WAIT_MS);
    for (let j = 0; j < 10 && catalogueCache.sharedLooks === shared; j++) await sleep(20);
  }
  expect(catalogueCache.sharedLooks).toBe(shared + 1);
  return iso;
}

/** Lets the hung calls go and waits for what the requests left running. */
async function settle(iso: Isolate): Promise<void> {
  iso.f.release();
  await Promise.allSettled(iso.behind);
}

beforeAll(async () => {
  await publishTitle(WARM);
  for (const id of COLD) await publishTitle(id);
});

beforeEach(() => {
  catalogueCache.clear();
  forgetTopologyLooks();
});

describe("an isolate whose own D1 reads hang while its colo's shared answers come", () => {
  it("refuses a title the colo does not hold at once (503), not after the read's 5 s bound", { timeout: 60_000 }, async () => {
    const iso = await hungIsolateWithSharedAnswer();
    const cold = await timed(() => catalogueCache.title(iso.env, COLD[0], iso.waitUntil));
    expect(cold.err).toBeInstanceOf(ApiError);
    expect((cold.err as ApiError).code).toBe("catalogue_unavailable");
    expect(cold.ms).toBeLessThan(NO_WAIT_MS);
    // TTL after TTL, the colo's answers refreshing its view: the title it holds plays at once, and one
    // the colo does not hold is still refused at once (its own reads have not been answered since).
    for (let i = 0; i < 3; i++) {
      await sleep(TTL_MS);
      await iso.share();
      const warm = await timed(() => catalogueCache.title(iso.env, WARM, iso.waitUntil));
      expect(warm.value?.title.id).toBe(WARM);
      expect(warm.ms).toBeLessThan(NO_WAIT_MS);
      const again = await timed(() => catalogueCache.title(iso.env, COLD[0], iso.waitUntil));
      expect(again.err).toBeInstanceOf(ApiError);
      expect(again.ms).toBeLessThan(NO_WAIT_MS);
    }
    await settle(iso);
  });

  it("does not wait on its own look after a change made through it (LOOK_WAIT_MS)", { timeout: 60_000 }, async () => {
    const iso = await hungIsolateWithSharedAnswer();
    catalogueCache.changedHere();
    const warm = await timed(() => catalogueCache.title(iso.env, WARM, iso.waitUntil));
    expect(warm.value?.title.id).toBe(WARM);
    expect(warm.ms, "the held title after a change made here").toBeLessThan(NO_WAIT_MS);
    const cold = await timed(() => catalogueCache.title(iso.env, COLD[1], iso.waitUntil));
    expect(cold.err).toBeInstanceOf(ApiError);
    expect(cold.ms).toBeLessThan(NO_WAIT_MS);
    await settle(iso);
  });

  it("reads D1 itself again once its own reads are answered, within a few TTLs", { timeout: 60_000 }, async () => {
    const iso = await hungIsolateWithSharedAnswer();
    // D1 answers this isolate again.
    iso.f.mode = "up";
    iso.f.release();
    let loaded: string | undefined;
    for (let i = 0; i < 30 && loaded === undefined; i++) {
      const a = await timed(() => catalogueCache.title(iso.env, COLD[2], iso.waitUntil));
      expect(a.ms).toBeLessThan(NO_WAIT_MS);
      loaded = a.value?.title.id;
      if (loaded === undefined) await sleep(300);
    }
    expect(loaded).toBe(COLD[2]);
    await settle(iso);
  });
});
