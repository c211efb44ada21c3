import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { catalogueCache } from "../workers/control/catalogue-cache";
import { catalogueDb } from "../workers/shared/catalogue-db";
import { newestBookmark, readReplica } from "../workers/shared/replica-reads";
import { forgetTopologyLooks, liveTopology } from "../workers/shared/topology-live";
import worker from "../workers/index";
import { GEO, memberToken, publishTitle } from "./fixtures";

/**
 * The views every isolate keeps (catalogue, plans, browse lists, topology) read D1 through sessions,
 * so that deployed with read replication a replica near the isolate answers them. Locally there is one
 * database and no replica: what these tests can show is that the reads go through sessions, that each
 * session starts from the newest bookmark the isolate has seen, and that a change a replica applies
 * late is still seen by the next look. Where a test needs a replica behind the primary, it wraps the
 * binding and says so: the local runtime has none.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The binding, recording the constraint or bookmark each session opens with and the bookmark it ends at. */
function sessionsOf(db: D1Database, opened: string[], ended: string[], rewind?: (b: string) => string): D1Database {
  return new Proxy(db, {
    get(t, key) {
      const v = Reflect.get(t, key) as unknown;
      if (key === "withSession")
        return (from: string) => {
          opened.push(from);
          const session = t.withSession(from);
          return new Proxy(session, {
            get(s, k) {
              const sv = Reflect.get(s, k) as unknown;
              if (k === "getBookmark")
                return () => {
                  const b = s.getBookmark();
                  const seen = b && rewind ? rewind(b) : b;
                  if (seen) ended.push(seen);
                  return seen;
                };
              return typeof sv === "function" ? (sv as (...a: unknown[]) => unknown).bind(s) : sv;
            },
          });
        };
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

describe("reads of the isolate's views", () => {
  it("go through a session that starts from the newest bookmark this isolate has seen", async () => {
    const opened: string[] = [];
    const ended: string[] = [];
    const db = sessionsOf(env.DB, opened, ended);
    await readReplica(db, (r) => r.prepare("SELECT 1 AS one").first());
    await env.DB.prepare("UPDATE plans SET max_height = max_height WHERE id = 'basic'").run();
    await readReplica(db, (r) => r.prepare("SELECT 2 AS two").first());
    expect(opened).toHaveLength(2);
    expect(opened[1]).toBe(ended[0]);
    expect(ended[1] >= ended[0]).toBe(true);
    expect(newestBookmark()).toBe(ended[1]);
  });

  it("never go back to an older state than one already read", async () => {
    // A replica behind the primary, which the local runtime cannot provide: its sessions end at a bookmark older than the newest.
    const before = newestBookmark() ?? "";
    const opened: string[] = [];
    const db = sessionsOf(env.DB, opened, [], () => "00000000-00000000-00000000-00000000000000000000000000000000");
    await readReplica(db, (r) => r.prepare("SELECT 1 AS one").first());
    await readReplica(db, (r) => r.prepare("SELECT 1 AS one").first());
    expect(newestBookmark() ?? "").toBe(before);
    expect(opened.every((o) => o === (before || "first-unconstrained"))).toBe(true);
  });

  it("of the catalogue and the topology open sessions rather than read the primary", async () => {
    const opened: string[] = [];
    const e = { ...env, CATALOGUE_TTL_S: "0", DB: sessionsOf(env.DB, opened, []) } as Env;
    catalogueCache.clear();
    await catalogueCache.title(e, "no-such-title");
    await catalogueCache.plan(e, "basic");
    const catalogueSessions = opened.length;
    expect(catalogueSessions).toBeGreaterThanOrEqual(3); // the change look, the title, the plans
    forgetTopologyLooks();
    await liveTopology(e);
    expect(opened.length).toBe(catalogueSessions + 1);
  });
});

describe("the catalogue's change look", () => {
  it("sees a change that the replica applied only after the look that should have seen it", async () => {
    await publishTitle("replica-late");
    const e = { ...env, CATALOGUE_TTL_S: "0.2" } as Env;
    catalogueCache.clear();
    // The catalogue last changed a minute ago.
    await env.DB.prepare("UPDATE titles SET view_changed_at = ?")
      .bind(Date.now() - 60_000)
      .run();
    const first = await catalogueCache.title(e, "replica-late");
    expect(first?.title.name).not.toBe("Renamed Late");
    const lookedAt = Date.now();
    // A rename the primary stamped 30 s before that look, which this isolate's replica applies only now
    // (the stamp set by hand: locally every write is visible at once).
    await env.DB.prepare("UPDATE titles SET name = 'Renamed Late' WHERE id = 'replica-late'").run();
    await env.DB.prepare("UPDATE titles SET view_changed_at = ? WHERE id = 'replica-late'")
      .bind(lookedAt - 30_000)
      .run();
    // Past twice the TTL the next read waits for its look.
    await sleep(450);
    const second = await catalogueCache.title(e, "replica-late");
    expect(second?.title.name).toBe("Renamed Late");
  });

  it("sends the titles stamped near the latest once, not again on every look, until something moves", async () => {
    await publishTitle("mark-a");
    await publishTitle("mark-b");
    // A bulk change: both stamped in the same millisecond, the latest stamp there is.
    const max = await env.DB.prepare("SELECT MAX(view_changed_at) AS m FROM titles").first<number>("m");
    const at = (max ?? Date.now()) + 1;
    await env.DB.prepare("UPDATE titles SET view_changed_at = ? WHERE id IN ('mark-a', 'mark-b')").bind(at).run();
    const first = await catalogueDb.changedSince(env.DB, at - 2_000, null);
    expect(first.latest).toBe(at);
    expect(first.changed.map((c) => c.id).sort()).toEqual(["mark-a", "mark-b"]);
    const again = await catalogueDb.changedSince(env.DB, first.latest - 2_000, first);
    expect(again.changed).toEqual([]);
    // Another change in that same millisecond (a second commit the first look did not see) moves the watermark.
    await env.DB.prepare("UPDATE titles SET name = 'Mark A, renamed' WHERE id = 'mark-a'").run();
    await env.DB.prepare("UPDATE titles SET view_changed_at = ? WHERE id = 'mark-a'").bind(at).run();
    const moved = await catalogueDb.changedSince(env.DB, again.latest - 2_000, again);
    expect(moved.mark).toBe(again.mark + 1);
    expect(moved.changed.map((c) => c.id)).toContain("mark-a");
  });
});

describe("an isolate's looks", () => {
  it("ask one question per TTL for the catalogue and the topology together", async () => {
    await publishTitle("one-question");
    // Every statement run, on the binding or a session (the one thing wrapped: the runtime does not list them).
    const statements: string[] = [];
    const recording = <T extends D1Database | D1DatabaseSession>(db: T): T =>
      new Proxy(db, {
        get(t, key) {
          const v = Reflect.get(t, key) as unknown;
          if (key === "withSession") return (from: string) => recording((t as D1Database).withSession(from));
          if (key === "prepare")
            return (q: string) => {
              statements.push(q.replace(/\s+/g, " ").trim());
              return t.prepare(q);
            };
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
    const e = { ...env, CATALOGUE_TTL_S: "0.2", DB: recording(env.DB) } as Env;
    const token = await memberToken("premium");
    catalogueCache.clear();
    forgetTopologyLooks();
    // Plays 100 ms apart for 1.5 s: seven or so TTLs.
    for (let i = 0; i < 15; i++) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request("http://cdn.test/v1/play", {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Client-Geo": GEO.lumenNyc },
          body: JSON.stringify({ titleId: "one-question", device: { codecs: ["avc1", "mp4a"], maxHeight: 1080 } }),
        }),
        e,
        ctx,
      );
      expect([200, 409]).toContain(res.status);
      await res.arrayBuffer();
      await waitOnExecutionContext(ctx);
      await sleep(100);
    }
    const changeLooks = statements.filter((q) => q.includes("MAX(view_changed_at)")).length;
    const topologyLooks = statements.filter((q) => q.startsWith("SELECT version, CASE WHEN version")).length;
    expect(changeLooks).toBeGreaterThanOrEqual(4);
    // The cold isolate's first topology look is its own (awaited before the first request); after it, every version rode a change look.
    expect(topologyLooks).toBeLessThanOrEqual(1);
  });
});
