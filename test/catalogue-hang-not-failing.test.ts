import { env } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { catalogueCache } from "../workers/control/catalogue-cache";
import { lookWindowMs, shareLook } from "../workers/control/colo-look";
import { catalogueDb } from "../workers/shared/catalogue-db";
import { coloNamespace } from "../workers/shared/colo-namespace";
import { ApiError } from "../workers/shared/errors";
import { forgetTopologyLooks } from "../workers/shared/topology-live";
import { fault, faultyDb } from "./faulty-d1";
import { publishTitle } from "./fixtures";

/**
 * D1 hanging for an isolate (one of its own reads went unanswered) while a look the colo answered,
 * begun before that read's bound ran out, made its view fresh: the isolate hangs without failing. Its
 * loads then answer 503 at once (unless the colo holds them) and ask D1 nothing, so something must
 * still look once a TTL, or the hang never ends: a browse list or the plans, which no `sync` precedes,
 * must ask through the look too, as they do while D1 fails.
 */

const NS = coloNamespace(env);
const WARM = "hang-not-failing-warm";
const COLD = "hang-not-failing-cold";
const TTL_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  await publishTitle(WARM);
  await publishTitle(COLD);
});

beforeEach(() => {
  catalogueCache.clear();
  forgetTopologyLooks();
});

describe("an isolate whose own read hung after a look the colo answered began", () => {
  it("recovers from the hang on browse lists alone once D1 answers it again", { timeout: 60_000 }, async () => {
    const f = fault();
    const behind: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => behind.push(p);
    const isoEnv = { ...env, CATALOGUE_TTL_S: String(TTL_MS / 1000), DB: faultyDb(f) } as Env;

    // Its first look in D1, then the title: the view holds WARM at the current state.
    catalogueCache.changedHere();
    expect((await catalogueCache.title(isoEnv, WARM, waitUntil))?.title.id).toBe(WARM);
    const { latest, mark } = await catalogueDb.changedSince(env.DB, Number.MAX_SAFE_INTEGER, null);
    const seen = { latest, mark };
    const answer = await catalogueDb.changedSince(env.DB, latest - 2_000, seen);

    // D1 hangs: a title no one holds loads from D1 and waits (the read's bound, 5 s).
    f.mode = "slow";
    const cold = catalogueCache.title(isoEnv, COLD, waitUntil).then(
      () => null,
      (err: unknown) => err,
    );
    // Meanwhile another isolate's answer is in the colo, and a request that must look takes it: the view is fresh.
    const w = lookWindowMs(TTL_MS);
    await sleep(w - (Date.now() % w) + 10);
    await shareLook(NS, TTL_MS, Date.now(), seen, answer);
    const shared = catalogueCache.sharedLooks;
    catalogueCache.staleNow();
    expect((await catalogueCache.title(isoEnv, WARM, waitUntil))?.title.id).toBe(WARM);
    expect(catalogueCache.sharedLooks).toBe(shared + 1);
    // The cold load's read runs out: D1 hangs for this isolate, yet the look after its start succeeded.
    const err = await cold;
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("catalogue_unavailable");

    // D1 answers this isolate again. Only browse lists are asked for (a country per request, none of
    // them loaded in the colo): within a few TTLs one loads from D1.
    f.mode = "up";
    f.release();
    let loaded = false;
    for (let i = 0; i < 20 && !loaded; i++) {
      try {
        await catalogueCache.browse(isoEnv, `Q${i}`, waitUntil);
        loaded = true;
      } catch (e) {
        expect(e).toBeInstanceOf(ApiError);
        await sleep(400);
      }
    }
    expect(loaded, "a browse list loads once D1 answers the isolate again").toBe(true);
    await Promise.allSettled(behind);
  });
});
