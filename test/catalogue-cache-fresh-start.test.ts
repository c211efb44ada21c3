import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { catalogueCache } from "../workers/control/catalogue-cache";
import { publishTitle } from "./fixtures";

/**
 * The isolate's catalogue view against loads and looks that overlap: a title loaded from D1 just
 * before a takedown must not be kept once a look that starts the view afresh has passed over that
 * takedown (no later look names it again: the watermark moved past it).
 */

/** The binding, with its first call of `method` (on a session made from it) held at `when`: before or after D1 answers. */
function heldDb(method: "batch" | "all", when: "before" | "after", gate: Promise<void>, reached: () => void): D1Database {
  let held = false;
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, key) {
        const value = Reflect.get(t, key) as unknown;
        if (typeof value !== "function") return value;
        const fn = value as (...a: unknown[]) => unknown;
        if (key === "withSession" || key === "prepare" || key === "bind") return (...a: unknown[]) => wrap(fn.apply(t, a) as object);
        if (key === method && !held) {
          held = true;
          return async (...a: unknown[]) => {
            if (when === "before") {
              reached();
              await gate;
              return fn.apply(t, a);
            }
            const r = await fn.apply(t, a);
            reached();
            await gate;
            return r;
          };
        }
        return fn.bind(t);
      },
    });
  return wrap(env.DB);
}

const takeDown = (titleId: string) => env.DB.prepare(`UPDATE titles SET taken_down_at = ? WHERE id = ?`).bind(Date.now(), titleId).run();
const withTtl = (ttl: string, db: D1Database = env.DB) => ({ ...env, CATALOGUE_TTL_S: ttl, DB: db });

beforeEach(() => catalogueCache.clear());

describe("the catalogue view and loads that overlap a look", () => {
  it("does not keep a title loaded before a takedown when a look of over 10,000 changes starts the view afresh", async () => {
    const T = "rv-cat-bulk";
    await publishTitle(T);
    // A first look, so the next request reads without one.
    await catalogueCache.title(withTtl("60"), "rv-cat-warm");
    let reached!: () => void;
    const atD1 = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A play loads the title: D1 answers (the title is up), the answer is on its way back.
    const loading = catalogueCache.title(withTtl("60", heldDb("batch", "after", gate, reached)), T);
    await atD1;
    // An OCA's health change stamps more than 10,000 titles at once, and the title is taken down (last:
    // a look's cost grows with the titles sharing the latest stamp, see catalogueDb.changedSince).
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10001)
       INSERT INTO titles (id, name, duration_s, updated_at) SELECT 'rv-bulk-' || i, 'bulk', 60, 0 FROM n`,
    ).run();
    await new Promise((r) => setTimeout(r, 5));
    await takeDown(T);
    // A look sees them all and starts afresh; then the play's load lands.
    await catalogueCache.title(withTtl("0"), "rv-cat-warm");
    release();
    expect((await loading)?.title.taken_down_at).toBeNull();
    // Every later look: the title is down.
    expect((await catalogueCache.title(withTtl("0"), T))?.title.taken_down_at).not.toBeNull();
    expect((await catalogueCache.title(withTtl("0"), T))?.title.taken_down_at).not.toBeNull();
  });

  it("does not lose a takedown to a cold isolate's two first looks that overlap", async () => {
    const T = "rv-cat-cold";
    await publishTitle(T);
    let reached!: () => void;
    const atD1 = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // Two requests arrive at a cold isolate: each makes its own first look. One look's statement is slow to run.
    const slow = catalogueCache.title(withTtl("60", heldDb("all", "before", gate, reached)), "rv-cat-other");
    await atD1;
    // The other's look ends first, and it loads the title (up).
    expect((await catalogueCache.title(withTtl("60"), T))?.title.taken_down_at).toBeNull();
    // The title is taken down; then the slow look reads D1 (after the takedown) and ends.
    await takeDown(T);
    release();
    await slow;
    expect((await catalogueCache.title(withTtl("0"), T))?.title.taken_down_at).not.toBeNull();
  });
});
