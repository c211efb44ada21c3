import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { median } from "../../shared/stats";
import type { CmcdReport, EdgeReport, PlayReport } from "../../workers/shared/site-view";

/**
 * How long a site object's thread spends on the work the capacity model multiplies (bench/scale.ts):
 * a sync's own work, each session's entry in it (its segments' bytes, activity and CMCD), and each report
 * an event shard forwards. Timed on the local runtime around calls (medians of samples), less what a
 * call that does nothing costs; each entry's and report's figure includes both sides' serialization,
 * so these are upper bounds of the object's own work. Never asserted: the bench prints the figures and
 * multiplies them by the busiest site's rates.
 */

const SITE = "rheinnet-muc";
const OCA = "rheinnet-muc-1";
/** Samples of each figure, and calls timed together in a sample (the runtime's clock moves in whole ms). */
const SAMPLES = 7;
const CALLS = 10;

/** ms a call takes, as the median over samples of CALLS calls in a row. */
async function timed(call: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < SAMPLES; k++) {
    const t0 = performance.now();
    for (let c = 0; c < CALLS; c++) await call();
    times.push((performance.now() - t0) / CALLS);
  }
  return median(times);
}

it("times a site's sync, a session's entry in it, and a forwarded report", async () => {
  const site = env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
  // The deployed view TTL (the tests' config reads D1 on every look, which a deployed sync does not).
  await runInDurableObject(site, (o) => {
    (o as unknown as { env: Env }).env = { ...env, CATALOGUE_TTL_S: "5" };
  });
  const now = Date.now();
  const sessions = Array.from({ length: 400 }, (_, k) => ({ id: crypto.randomUUID(), streams: env.MEMBER_STREAMS.idFromName(`t-${k}`).toString() }));
  const plays: PlayReport[] = sessions.map((s) => ({ sessionId: s.id, titleId: "time-title", day: 0, estBytes: 2e9, topBps: 8e6, startedAt: now - 60_000 }));
  let seq = 1;
  // The plays' records first (as their play requests' syncs carry them), in calls the site takes whole.
  for (let k = 0; k < plays.length; k += 200) await site.edgeSync({ seq: seq++, windowMs: 1000, plays: plays.slice(k, k + 200), ocas: {} }, "time-iso");
  const cmcd = (id: string): CmcdReport => ({
    sessionId: id,
    titleId: "time-title",
    sid: id,
    requests: 1,
    bytes: 2_000_000,
    stalls: 0,
    startups: 0,
    bitrateKbps: 4000,
    bufferMs: 8000,
    throughputKbps: 20000,
    topBitrateKbps: 4000,
    lastOca: `${SITE}/${OCA}`,
    firstAt: Date.now() - 500,
    lastAt: Date.now(),
  });
  // A sync carrying `n` sessions' segments (each once, with its CMCD), as an isolate's report does.
  const sync = (n: number) => () => {
    const entries = sessions.slice(0, n);
    const report: EdgeReport = {
      seq: seq++,
      windowMs: 1000,
      ocas: { [OCA]: { bytes: n * 2_000_000, requests: n, sessions: entries.map((s) => ({ id: s.id, bytes: 2_000_000, home: true, streams: s.streams })) } },
      cmcd: entries.map((s) => cmcd(s.id)),
    };
    return site.edgeSync(report, "time-iso");
  };
  let id = 0;
  const shard = `${SITE}:0/time-run`;
  // A forward of `n` reports of those sessions' QoE batches.
  const forward = (n: number) => () => {
    const at = Date.now();
    const reports = sessions
      .slice(0, n)
      .map((s) => ({ id: ++id, sessionId: s.id, titleId: "time-title", startedAt: now - 60_000, estBytes: 2e9, topBps: 8e6, bytes: 500_000, at }));
    return site.forwardReports(reports, { shard, upTo: id });
  };
  // A call that does nothing (an object's ping): what the call itself costs here, where the caller and
  // the test harness share the object's thread; taken off the sync's and the forward's own figures.
  const member = env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName("site-time-ping"));
  await timed(() => member.ping());
  await timed(sync(400));
  await timed(forward(400));
  const callMs = await timed(() => member.ping());
  const sync0 = await timed(sync(0));
  const sync400 = await timed(sync(400));
  const forward0 = await timed(forward(0));
  const forward400 = await timed(forward(400));
  const out = {
    callMs,
    syncMs: Math.max(0, sync0 - callMs),
    syncPerSessionMs: (sync400 - sync0) / 400,
    forwardMs: Math.max(0, forward0 - callMs),
    forwardPerReportMs: (forward400 - forward0) / 400,
    samples: SAMPLES,
    calls: CALLS,
  };
  expect(out.syncPerSessionMs).toBeGreaterThan(0);
  console.log(`SITE_TIME ${JSON.stringify(out)}`);
});
