import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ocaKey } from "../shared/file-keys";

/**
 * The reconcile deletes the files of an OCA that no live version of their title uses (a version whose
 * last session has expired, a title taken down). A title re-encoded or taken down leaves thousands of
 * them per OCA, and each alarm run reconciles 32 titles: deleted a call per file, one run's R2 calls
 * would grow with the catalogue's files and pass what an invocation may make, failing the run (and the
 * reconcile of every later title) until enough retries had worn the files down. R2 takes up to 1,000
 * keys a call: the calls grow with the batches, not the files.
 */

const SITE = "lumen-lax";
const OCA = "lumen-lax-1";
const TITLE = "prune-batches-gone";
const FILES = 40;
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const sha = (i: number) => i.toString(16).padStart(64, "0");
const path = (i: number) => `video/avc-480p/seg-${String(i).padStart(5, "0")}.m4s`;

describe("the reconcile's deletion of a title's stale copies", () => {
  it("takes one R2 call for a batch of keys, not one per file, and leaves neither bytes nor rows", async () => {
    // The title's copies on the OCA, ready; the catalogue has no live version of it (never registered here: as taken down).
    const keys = Array.from({ length: FILES }, (_, i) => ocaKey(SITE, OCA, TITLE, path(i), sha(i)));
    await Promise.all(keys.map((k) => env.TIER_NA.put(k, "x")));
    await runInDurableObject(site(), async (_i, state) => {
      for (let i = 0; i < FILES; i++)
        state.storage.sql.exec(
          `INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at) VALUES (?, ?, ?, ?, 1, 'ready', 'origin', 0)`,
          OCA,
          TITLE,
          path(i),
          sha(i),
        );
    });
    // Counts the bucket's delete calls (passed through to the local R2: nothing is mocked).
    const bucketClass = Object.getPrototypeOf(env.TIER_NA) as { delete: (keys: string | string[]) => Promise<void> };
    const realDelete = bucketClass.delete;
    const calls: number[] = [];
    bucketClass.delete = function (this: R2Bucket, k: string | string[]) {
      calls.push(Array.isArray(k) ? k.length : 1);
      return realDelete.call(this, k);
    };
    let pruned: number;
    try {
      pruned = (await site().reconcile()).pruned;
    } finally {
      bucketClass.delete = realDelete;
    }
    expect(pruned).toBe(FILES);
    expect(calls).toEqual([FILES]);
    expect((await env.TIER_NA.list({ prefix: `${SITE}/${OCA}/${TITLE}/` })).objects).toEqual([]);
    await runInDurableObject(site(), async (_i, state) => {
      expect(state.storage.sql.exec(`SELECT COUNT(*) AS n FROM holdings WHERE title_id = ?`, TITLE).one().n).toBe(0);
      expect(state.storage.sql.exec(`SELECT COUNT(*) AS n FROM held_titles WHERE title_id = ?`, TITLE).one().n).toBe(0);
    });
  });
});
