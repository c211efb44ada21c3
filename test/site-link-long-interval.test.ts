import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { recordServed } from "../workers/shared/site-link";
import type { EdgeReport } from "../workers/shared/site-view";

/**
 * A site that many isolates sync with asks each for a long interval (up to 20 s). A request that comes
 * while the link's flush is making its sync adds bytes the running flush cannot send within its budget
 * (its next sync is an interval away): they must still reach the site without another request, at the
 * next sync, and not in a second sync right after the first (the site asked for the long interval).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a link paced at a long interval", () => {
  it("sends what a request adds during the flush's sync at the next interval, without another request", async () => {
    const SITE = "lumen-lax";
    const OCA = "lumen-lax-1";
    const EVERY_MS = 20_000;
    const { OcaSite } = await import("../durable-objects/oca-site");
    const proto = OcaSite.prototype as unknown as { edgeSync: (report: EdgeReport | null, ...rest: unknown[]) => Promise<unknown> };
    const real = proto.edgeSync;
    const sent: Array<{ at: number; report: EdgeReport }> = [];
    let arrived = () => {};
    proto.edgeSync = async function (this: unknown, report: EdgeReport | null, ...rest: unknown[]) {
      if (report) sent.push({ at: Date.now(), report });
      arrived();
      // The answer takes a while (well inside the isolate's timeout), and asks the longest interval.
      await sleep(250);
      const view = (await real.call(this, report, ...rest)) as Record<string, unknown>;
      return { ...view, syncEveryMs: EVERY_MS };
    };
    const pending: Promise<unknown>[] = [];
    const w = (p: Promise<unknown>) => void pending.push(p);
    const entries = (id: string) =>
      sent.flatMap((s) => s.report.ocas[OCA]?.sessions.filter((e) => e.id === id).map((e) => ({ at: s.at, bytes: e.bytes })) ?? []);
    try {
      const first = crypto.randomUUID();
      recordServed(env, SITE, OCA, first, 1_000, w, { home: true });
      await sleep(1_000);
      expect(entries(first).length).toBe(1);
      // Held: the next flush sends it at the next interval.
      recordServed(env, SITE, OCA, first, 1_000, w, { home: true });
      const during = new Promise<void>((r) => {
        arrived = r;
      });
      await during;
      arrived = () => {};
      const flushAt = sent[sent.length - 1].at;
      expect(flushAt - entries(first)[0].at).toBeGreaterThan(EVERY_MS - 1_000);
      // A new viewer's segment while that sync is in flight; then no request at all.
      const late = crypto.randomUUID();
      recordServed(env, SITE, OCA, late, 3_000, w, { home: true });
      await sleep(Math.max(0, flushAt + EVERY_MS + 2_500 - Date.now()));
      while (pending.length) await pending.shift();
      expect(entries(first).map((e) => e.bytes)).toEqual([1_000, 1_000]);
      expect(entries(late).map((e) => e.bytes)).toEqual([3_000]);
      // At the site's pace: not in a sync right after the one it came during.
      expect(entries(late)[0].at - flushAt).toBeGreaterThan(EVERY_MS - 1_000);
    } finally {
      proto.edgeSync = real;
    }
  }, 60_000);
});
