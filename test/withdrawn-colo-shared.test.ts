import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { WITHDRAWN_KEY } from "../shared/file-keys";
import type { WithdrawnDoc } from "../shared/withdrawn";
import { COLO_READ_TIMEOUT_MS, coloSharedReads, coloSharedText, coloSharedUrl } from "../workers/shared/colo-shared-text";
import { withdrawnReason } from "../workers/edge/withdrawn";
import { coloNamespace } from "../workers/shared/colo-namespace";

/**
 * Origin's withdrawn list shared by a colo's isolates through the Cache API (the real one of this
 * workerd): read from R2 once per colo per half TTL. Another isolate of the colo is what put a copy
 * with `coloSharedText`; R2 reads are counted by a wrapper around the real bucket (the local runtime
 * cannot count them).
 */

/** The namespace the Worker under test keys its colo entries by (its version). */
const NS = coloNamespace(env);
const W = 30_000;
const waitUntil = () => {};

/** Keeps a case inside one window: waits out its last two seconds. */
async function inOneWindow(): Promise<void> {
  const left = W - (Date.now() % W);
  if (left < 2_000) await new Promise((r) => setTimeout(r, left + 10));
}

describe("a document shared by a colo's isolates", () => {
  it("is read from its source once per window, however many isolates ask", async () => {
    await inOneWindow();
    let reads = 0;
    const read = async () => `{"n":${++reads}}`;
    const texts = [];
    for (let isolate = 0; isolate < 5; isolate++) texts.push(await coloSharedText("shared-once", W, read));
    expect(reads).toBe(1);
    expect(new Set(texts)).toEqual(new Set(['{"n":1}']));
  });

  it("shares that the source has none as none", async () => {
    await inOneWindow();
    let reads = 0;
    const read = async () => {
      reads++;
      return null;
    };
    expect(await coloSharedText("shared-absent", W, read)).toBeNull();
    expect(await coloSharedText("shared-absent", W, read)).toBeNull();
    expect(reads).toBe(1);
  });

  it("is read from its source when the colo cache does not answer within its bound", async () => {
    // The one thing mocked: the local runtime's cache cannot be made to hang.
    const cache = caches.default as unknown as { match: Cache["match"] };
    const match = cache.match;
    cache.match = () => new Promise<never>(() => {});
    try {
      const started = Date.now();
      expect(await coloSharedText("shared-hung", W, async () => "from source")).toBe("from source");
      expect(Date.now() - started).toBeLessThan(COLO_READ_TIMEOUT_MS + 1_000);
    } finally {
      cache.match = match;
    }
  });

  it("is read again in the next window, and every time with a window of 0", async () => {
    let reads = 0;
    const read = async () => String(++reads);
    const now = Date.now();
    expect(await coloSharedText("shared-windows", W, read, undefined, now)).toBe("1");
    expect(await coloSharedText("shared-windows", W, read, undefined, now + W)).toBe("2");
    expect(coloSharedUrl("shared-windows", W, now)).not.toBe(coloSharedUrl("shared-windows", W, now + W));
    expect(await coloSharedText("shared-zero", 0, read)).toBe("3");
    expect(await coloSharedText("shared-zero", 0, read)).toBe("4");
  });
});

describe("origin's withdrawn list in the data plane", () => {
  it("is taken from the colo's copy when another isolate read it in this window, not from R2", async () => {
    await inOneWindow();
    const now = Date.now();
    const shared: WithdrawnDoc = { titles: [{ id: "colo-gone", at: now - 1_000 }], licences: [], writtenAt: now };
    // Origin's own copy lists nothing: what this isolate answers shows which it read.
    await env.ORIGIN.put(WITHDRAWN_KEY, JSON.stringify({ titles: [], licences: [], writtenAt: now }));
    await coloSharedText(`withdrawn/${NS}`, 30_000, async () => JSON.stringify(shared));
    let r2Reads = 0;
    const counted = {
      ...env,
      CATALOGUE_TTL_S: "60",
      ORIGIN: {
        get: (key: string) => {
          r2Reads++;
          return env.ORIGIN.get(key);
        },
      } as unknown as R2Bucket,
    };
    const hits = coloSharedReads.hits;
    expect(await withdrawnReason(counted, "colo-gone", "US", now - 60_000, waitUntil)).toBe("taken_down");
    expect(r2Reads).toBe(0);
    expect(coloSharedReads.hits).toBe(hits + 1);
  });

  it("never takes another deployment's copy (a staging Worker on the same zone)", async () => {
    const now = Date.now() + 10 * 60_000;
    const staging: WithdrawnDoc = { titles: [{ id: "staging-gone", at: now - 1_000 }], licences: [], writtenAt: now };
    await coloSharedText("withdrawn/staging-version", 30_000, async () => JSON.stringify(staging), undefined, now);
    expect(await coloSharedText(`withdrawn/${NS}`, 30_000, async () => "mine", undefined, now)).toBe("mine");
  });
});
