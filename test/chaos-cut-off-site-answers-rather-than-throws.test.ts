import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ANSWER_CUT_OFF } from "../workers/shared/site-view";
import { dayNumber } from "../fill/day";
import { opsSummaryOf } from "../workers/control/admin/ops-summary-fallback";

/**
 * A site an operator cut off with the chaos switch turns away syncs and the dashboard. An exception
 * out of the site object's RPC method is logged by workerd as "Uncaught (in promise)" with its stack on
 * every call, whatever the caller does with it, so a caller that handles the cut-off is answered so
 * (`cutOff`, nothing counted) and fails in its own isolate; one that does not ask (code before) is still
 * refused with the exception.
 */

const SITE = "rheinnet-muc";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
/** What a call settled with: its answer, or the refusal's message. */
const settled = <T>(p: Promise<T>) =>
  p.then(
    (answer) => ({ answer }),
    (err: unknown) => ({ refused: String(err) }),
  );

describe("a site cut off by the chaos switch", () => {
  it("answers a sync and the dashboard that asked for it with why, counting nothing, and refuses the others as before", async () => {
    const s = site();
    const { site: spec, ocas } = await s.describe();
    const today = dayNumber(Date.now(), spec.timeZone);
    const bytesToday = async () => (await s.servedByDay(today, today)).reduce((sum, r) => sum + r.bytes, 0);
    const report = { seq: 1, windowMs: 1_000, ocas: { [ocas[0].ocaId]: { bytes: 700, bytesFrom: { embedded: 700 }, sessions: [] } } } as never;
    const before = await bytesToday();
    await s.setUnreachable(true);
    try {
      const sync = await settled(s.edgeSync(report, "cut-off-isolate", [], ANSWER_CUT_OFF));
      expect(sync).toEqual({ answer: expect.objectContaining({ siteId: SITE, ocas: [], cutOff: `site ${SITE} is unreachable (chaos switch)` }) });
      const summary = await settled(s.opsSummary(ANSWER_CUT_OFF));
      expect(summary).toEqual({ answer: expect.objectContaining({ ocas: [], cutOff: `site ${SITE} is unreachable (chaos switch)` }) });
      // The dashboard's caller fails it in its own isolate (the overview lists the site unreachable, with why).
      expect(await settled(opsSummaryOf(s))).toEqual({ refused: `Error: site ${SITE} is unreachable (chaos switch)` });
      // A caller that does not ask is refused as it always was.
      expect(await settled(s.edgeSync(null, "old-isolate"))).toEqual({ refused: expect.stringContaining("(chaos switch)") });
      expect(await bytesToday()).toBe(before);
    } finally {
      await s.setUnreachable(false);
    }
    // Reachable again: the same report, sent again as a link does, counts once.
    const view = await s.edgeSync(report, "cut-off-isolate", [], ANSWER_CUT_OFF);
    expect(view.cutOff).toBeUndefined();
    expect(view.ocas.length).toBe(ocas.length);
    expect(await bytesToday()).toBe(before + 700);
  });
});
