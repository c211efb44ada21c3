import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import {
  judge,
  PROBERS_KEPT,
  RECOVER_MS,
  RecentProbers,
  step,
  THRESHOLDS,
  type AutoState,
  type WindowSignals,
  WINDOW_MS,
  windowSignals,
} from "../durable-objects/site/auto-health";
import { recordClientReport, recordOutcome, recordServed } from "../workers/shared/site-link";
import { memberStreamsId } from "../workers/shared/stream-activity";
import { ADMIN, call, fill, GEO, memberToken, postEvents, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * Automatic OCA health: each site judges its OCAs from what they served (errors, latency), a probe of
 * their storage and clients' reports, with hysteresis, and steering follows without any health call.
 * The fault switches of the admin API make an OCA fail or slow down for real: the data plane applies
 * them to the requests it serves and the site's probe sees them too.
 */

const quiet: WindowSignals = {
  requests: 0,
  errors: 0,
  latencyMsSum: 0,
  probes: 0,
  probeFailures: 0,
  probeMs: null,
  failedProbesInARow: 0,
  clientReports: 0,
  trafficMembers: 0,
};

describe("judging an OCA's window of signals", () => {
  it("fails an OCA that errs on most requests or whose storage probes keep failing", () => {
    expect(judge({ ...quiet, requests: 10, errors: 10 }).state).toBe("failed");
    // A player leaves a failing OCA after an error or two: two failed requests of two are enough.
    expect(judge({ ...quiet, requests: 2, errors: 2 }).state).toBe("failed");
    expect(judge({ ...quiet, probes: 2, probeFailures: 2, failedProbesInARow: 2 })).toMatchObject({
      state: "failed",
      reason: "2 storage probes failed in a row",
    });
  });

  it("degrades an OCA that errs now and then or answers slowly, and says why", () => {
    expect(judge({ ...quiet, requests: 20, errors: 2 })).toMatchObject({ state: "degraded", reason: "error rate 10 % of 20 requests" });
    expect(judge({ ...quiet, requests: 6, latencyMsSum: 6 * 520 })).toMatchObject({ state: "degraded", reason: "mean latency 520 ms over 6 requests" });
    expect(judge({ ...quiet, probes: 1, probeMs: 700 }).state).toBe("degraded");
    // Clients' reports degrade, but never fail on their own: a client can lie.
    expect(judge({ ...quiet, clientReports: THRESHOLDS.degradeClientReports })).toMatchObject({
      state: "degraded",
      reason: "3 members reported failed requests or switched away",
    });
    expect(judge({ ...quiet, clientReports: 1000 }).state).toBe("degraded");
  });

  it("keeps an OCA healthy on too few requests to judge, and lets healthy traffic from enough other members outweigh client reports", () => {
    expect(judge({ ...quiet, requests: 1, errors: 1 }).state).toBe("healthy");
    expect(judge({ ...quiet, requests: 3, errors: 1 }).state).toBe("healthy");
    const fine = { ...quiet, requests: 100, errors: 0, latencyMsSum: 100 * 20, clientReports: 50 };
    expect(judge({ ...fine, trafficMembers: THRESHOLDS.degradeClientReports }).state).toBe("healthy");
    // One session's traffic, or two, does not speak for an OCA three members report.
    expect(judge({ ...fine, trafficMembers: THRESHOLDS.degradeClientReports - 1 })).toMatchObject({
      state: "degraded",
      reason: "50 members reported failed requests or switched away",
    });
  });
});

describe("hysteresis", () => {
  const healthy: AutoState = { state: "healthy", since: 0, reason: "x", betterSince: null };

  it("applies a worse verdict at once", () => {
    const r = step(healthy, { state: "failed", reason: "error rate 100 %" }, 1000);
    expect(r).toMatchObject({ changed: true, next: { state: "failed", since: 1000 } });
  });

  it("improves only after the better verdict has held RECOVER_MS, and starts over when it is interrupted", () => {
    let s: AutoState = { state: "failed", since: 0, reason: "probes", betterSince: null };
    const ok = { state: "healthy" as const, reason: "signals within thresholds" };
    s = step(s, ok, 1000).next;
    s = step(s, ok, 1000 + RECOVER_MS - 1).next;
    expect(s.state).toBe("failed");
    // A bad moment resets the clock.
    s = step(s, { state: "failed", reason: "probes" }, 1000 + RECOVER_MS).next;
    s = step(s, ok, 2000 + RECOVER_MS).next;
    expect(step(s, ok, 2000 + 2 * RECOVER_MS - 1).next.state).toBe("failed");
    const r = step(s, ok, 2000 + 2 * RECOVER_MS);
    expect(r.changed).toBe(true);
    expect(r.next.state).toBe("healthy");
    expect(r.next.reason).toMatch(/was failed: probes/);
  });
});

const TITLE = "auto-health-title";
const SITE = "lumen-nyc";
const json = { ...ADMIN, "Content-Type": "application/json" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fault = (ocaId: string, body: object) => call(`/admin/sites/${SITE}/ocas/${ocaId}/fault`, { method: "POST", headers: json, body: JSON.stringify(body) });
const priority = async (p: PlayResponse) => ((await (await call(p.steering.server)).json()) as { "PATHWAY-PRIORITY": string[] })["PATHWAY-PRIORITY"];
const ocaState = async (ocaId: string, siteId = SITE) => {
  const site = (await (await call(`/admin/sites/${siteId}`, { headers: ADMIN })).json()) as {
    ocas: Array<{
      ocaId: string;
      health: string;
      load: { healthBy: string; healthReason: string };
      transitions: Array<{ to: string; reason: string; by: string }>;
    }>;
  };
  return site.ocas.find((o) => o.ocaId === ocaId)!;
};
/**
 * The OCA's state once its site's judgement degraded it, for `reason` when given (or after 5 s, as it then
 * is): a slow probe left in the window by an earlier case, or by a loaded machine, may degrade it first.
 */
const untilDegraded = async (ocaId: string, siteId = SITE, reason?: string) => {
  let s = await ocaState(ocaId, siteId);
  for (let i = 0; i < 20 && (s.health !== "degraded" || (reason !== undefined && s.load.healthReason !== reason)); i++) {
    await sleep(250);
    s = await ocaState(ocaId, siteId);
  }
  return s;
};
const MEMBERS_REPORTED = "3 members reported failed requests or switched away";
/** An operator's restore: the automatic state starts afresh. */
const restore = (ocaId: string) =>
  call(`/admin/sites/${SITE}/ocas/${ocaId}/health`, { method: "POST", headers: json, body: JSON.stringify({ health: "healthy" }) });
const newPlay = async () => (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: SITE, ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  expect((await fill([{ siteId: SITE, ocaId: "lumen-nyc-2", titleIds: [TITLE] }])).status).toBe(200);
});

describe("automatic health in the running system", () => {
  it("takes an OCA failing every request out of steering within 10 s, with no health call, and brings it back after the hysteresis once the fault clears", async () => {
    const p = await newPlay();
    const serving = p.ocas[0];
    expect(serving.siteId).toBe(SITE);
    expect((await fault(serving.ocaId, { errorRate: 1 })).status).toBe(200);
    const t0 = Date.now();
    const statuses = new Set<number>();
    let gone = -1;
    while (Date.now() - t0 < 10_000) {
      // The player keeps asking its OCA (and would fail over to the next one of its list).
      const res = await call(`${serving.url}master.m3u8`);
      statuses.add(res.status);
      await res.arrayBuffer();
      if (!(await priority(p)).includes(serving.ocaId)) {
        gone = Date.now() - t0;
        break;
      }
      await sleep(200);
    }
    expect(statuses.has(503)).toBe(true);
    expect(gone).toBeGreaterThanOrEqual(0);
    expect(gone).toBeLessThan(10_000);
    const failed = await ocaState(serving.ocaId);
    expect(failed.health).toBe("failed");
    expect(failed.load.healthBy).toBe("auto");
    expect(failed.transitions[0]).toMatchObject({ to: "failed", by: "auto" });
    expect(failed.transitions[0].reason).toMatch(/error rate|probes failed/);
    // A new play is not offered it either.
    expect((await newPlay()).ocas.map((o) => o.ocaId)).not.toContain(serving.ocaId);

    // The fault clears: probes pass, and after the window and RECOVER_MS the OCA is steered to again.
    expect((await fault(serving.ocaId, { errorRate: 0 })).status).toBe(200);
    const t1 = Date.now();
    let back = -1;
    while (Date.now() - t1 < 30_000) {
      if ((await priority(p)).includes(serving.ocaId)) {
        back = Date.now() - t1;
        break;
      }
      await sleep(500);
    }
    expect(back).toBeGreaterThanOrEqual(RECOVER_MS - 1000);
    console.log(`auto health: out of steering ${gone} ms after the fault was set; back ${back} ms after it cleared`);
    // Back in steering; healthy once its hold passes (a loaded machine's slow probe in the window may bring it back degraded first).
    let restored = await ocaState(serving.ocaId);
    for (let i = 0; i < 40 && restored.health !== "healthy"; i++) {
      await sleep(500);
      restored = await ocaState(serving.ocaId);
    }
    expect(restored.health).toBe("healthy");
    expect(restored.transitions[0]).toMatchObject({ from: "failed", to: "healthy", by: "auto" });
  }, 60_000);

  it("demotes an OCA answering 500 ms late behind its peer without failing it", async () => {
    const p = await newPlay();
    const slow = p.ocas[0];
    expect((await fault(slow.ocaId, { addedLatencyMs: 500 })).status).toBe(200);
    // Let the data plane learn the fault (its site view refreshes within a second).
    await sleep(1200);
    await Promise.all(Array.from({ length: 8 }, () => call(`${slow.url}master.m3u8`).then((r) => r.arrayBuffer())));
    let order: string[] = [];
    for (let i = 0; i < 20; i++) {
      order = await priority(p);
      if (order.indexOf(slow.ocaId) > order.indexOf(p.ocas[1].ocaId)) break;
      await sleep(250);
    }
    expect(order).toContain(slow.ocaId);
    expect(order.indexOf(slow.ocaId)).toBeGreaterThan(order.indexOf(p.ocas[1].ocaId));
    const s = await ocaState(slow.ocaId);
    expect(s.health).toBe("degraded");
    expect(s.load.healthReason).toMatch(/latency/);
    expect((await fault(slow.ocaId, { addedLatencyMs: 0 })).status).toBe(200);
    // An operator's restore wins at once over the hysteresis (and starts automatic health afresh).
    await call(`/admin/sites/${SITE}/ocas/${slow.ocaId}/health`, { method: "POST", headers: json, body: JSON.stringify({ health: "healthy" }) });
    expect((await ocaState(slow.ocaId)).health).toBe("healthy");
  }, 30_000);

  it("lets an operator's drain win over automatic health, shown as the operator's", async () => {
    await call(`/admin/sites/${SITE}/ocas/lumen-nyc-2/health`, { method: "POST", headers: json, body: JSON.stringify({ health: "drained" }) });
    const s = await ocaState("lumen-nyc-2");
    expect(s.health).toBe("drained");
    expect(s.load.healthBy).toBe("operator");
    expect(s.transitions[0]).toMatchObject({ to: "drained", by: "operator" });
    await call(`/admin/sites/${SITE}/ocas/lumen-nyc-2/health`, { method: "POST", headers: json, body: JSON.stringify({ health: "healthy" }) });
    const r = await ocaState("lumen-nyc-2");
    expect(r.health).toBe("healthy");
    expect(r.transitions[0]).toMatchObject({ from: "drained", to: "healthy", by: "operator", reason: "restored by an operator" });
  });

  it("degrades an OCA that several members' clients report switching away from, with no traffic to say otherwise", async () => {
    // An earlier case's slow probes may still be in its window: an operator's restore starts it afresh.
    await restore("lumen-nyc-2");
    for (let i = 0; i < 3; i++) {
      const token = await memberToken("premium");
      const p = (await (await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
      // Many reports in one session count once.
      const switches = Array.from({ length: 20 }, () => ({ type: "oca_switch", fromOcaId: "lumen-nyc-2", ocaId: "lumen-nyc-1" }));
      const res = await postEvents(token, p, switches);
      expect(res.status).toBe(202);
    }
    const s = await untilDegraded("lumen-nyc-2", SITE, MEMBERS_REPORTED);
    expect(s.health).toBe("degraded");
    expect(s.load.healthReason).toBe(MEMBERS_REPORTED);
    await restore("lumen-nyc-2");
  });

  it("counts one member's clients once however many sessions and syncs their reports span, so one account cannot degrade an OCA", async () => {
    // The tests before leave lumen-nyc-1 degraded (its last probes slow): an operator's restore starts afresh.
    await restore("lumen-nyc-1");
    expect((await ocaState("lumen-nyc-1")).health).toBe("healthy");
    const switches = [{ type: "oca_switch", fromOcaId: "lumen-nyc-1", ocaId: "lumen-nyc-2" }];
    const reportAs = async (token: string) => {
      const p = (await (await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
      expect((await postEvents(token, p, switches)).status).toBe(202);
      return p;
    };
    // One premium member: three streams, each reporting, and again a sync later (all within the window).
    const one = await memberToken("premium");
    const plays = [await reportAs(one), await reportAs(one), await reportAs(one)];
    await sleep(1_200);
    for (const p of plays) expect((await postEvents(one, p, switches)).status).toBe(202);
    for (let i = 0; i < 6; i++) {
      await sleep(250);
      expect((await ocaState("lumen-nyc-1")).health).toBe("healthy");
    }
    // Two more members make three: now the reports degrade it (so the first member's did arrive, as one).
    await reportAs(await memberToken("premium"));
    await reportAs(await memberToken("premium"));
    const s = await untilDegraded("lumen-nyc-1", SITE, MEMBERS_REPORTED);
    expect(s.health).toBe("degraded");
    expect(s.load.healthReason).toBe(MEMBERS_REPORTED);
    await restore("lumen-nyc-1");
  });

  it("refuses a fault switch outside its bounds with a 400 in the error shape", async () => {
    const res = await fault("lumen-nyc-1", { errorRate: 2 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
  });
});

describe("one session's flood of fast requests", () => {
  // Driven through the isolate's site link (the data plane's recordOutcome): the fault switches slow
  // every request alike, so they cannot make one session's requests fast while the OCA is slow for others.
  const LAX = "lumen-lax";

  it("weighs as a few of its requests, at its own error rate and latency, so it cannot make a slow, erring OCA look healthy", async () => {
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    // The link's last report was seconds ago: a session's cap follows its batch's span, not that idle time.
    recordServed(env, LAX, "lumen-lax-1", "flood-warm", 1, waitUntil);
    while (pending.length) await pending.shift();
    await sleep(3_000);
    // Three viewers' sessions: two requests each, one failed, 600 ms late.
    for (const v of ["flood-viewer-a", "flood-viewer-b", "flood-viewer-c"]) {
      recordOutcome(env, LAX, "lumen-lax-1", v, { error: true, latencyMs: 600 }, waitUntil);
      recordOutcome(env, LAX, "lumen-lax-1", v, { error: false, latencyMs: 600 }, waitUntil);
    }
    // One session's 5,000 fast, successful requests (cache hits) in the same second.
    for (let i = 0; i < 5_000; i++) recordOutcome(env, LAX, "lumen-lax-1", "flood-attacker", { error: false, latencyMs: 1 }, waitUntil);
    while (pending.length) await pending.shift();
    const s = await untilDegraded("lumen-lax-1", LAX);
    // 3 errors of 6 + 8 requests (21 %), not of 5,006 (0.06 %, which would read healthy).
    expect(s.health).toBe("degraded");
    expect(s.load.healthReason).toBe("error rate 21 % of 14 requests");
  });

  it("cannot keep an OCA three members report healthy: the traffic beside theirs is one session's", async () => {
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    // The reporters' own sessions were served by the OCA too (a player stalls, then switches away).
    for (const m of ["a", "b", "c"]) {
      recordClientReport(env, LAX, "lumen-lax-2", `flood-member-${m}`, `flood-reporter-${m}`, waitUntil);
      recordServed(env, LAX, "lumen-lax-2", `flood-reporter-${m}`, 100_000, waitUntil);
      recordOutcome(env, LAX, "lumen-lax-2", `flood-reporter-${m}`, { error: false, latencyMs: 600 }, waitUntil);
    }
    for (let i = 0; i < 2_000; i++) {
      recordOutcome(env, LAX, "lumen-lax-2", "flood-masker", { error: false, latencyMs: 1 }, waitUntil);
      recordServed(env, LAX, "lumen-lax-2", "flood-masker", 1_000, waitUntil);
    }
    while (pending.length) await pending.shift();
    const s = await untilDegraded("lumen-lax-2", LAX, MEMBERS_REPORTED);
    expect(s.health).toBe("degraded");
    expect(s.load.healthReason).toBe(MEMBERS_REPORTED);
  });
});

describe("healthy traffic weighed per member against members' reports", () => {
  // Through the isolate's site link, as the data plane counts what it serves: each session served
  // carries its member's streams object id (signed in its URL token), as app.ts passes it.
  const SITE_OF = (ocaId: string) => ocaId.replace(/-\d+$/, "");
  const serve = async (ocaId: string, sessions: Array<{ session: string; member: string; reports?: boolean }>) => {
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    const site = SITE_OF(ocaId);
    for (const { session, member, reports } of sessions) {
      if (reports) recordClientReport(env, site, ocaId, member, session, waitUntil);
      recordServed(env, site, ocaId, session, 100_000, waitUntil, { streams: memberStreamsId(env, member) });
      for (let i = 0; i < 6; i++) recordOutcome(env, site, ocaId, session, { error: false, latencyMs: 20 }, waitUntil);
    }
    while (pending.length) await pending.shift();
  };
  const reporters = (tag: string) => ["a", "b", "c"].map((m) => ({ session: `${tag}-reporter-${m}`, member: `${tag}-member-${m}`, reports: true }));

  it("cannot keep an OCA three members report healthy with one other member's several streams", async () => {
    const masker = ["1", "2", "3", "4"].map((n) => ({ session: `streams-masker-${n}`, member: "streams-masker" }));
    await serve("rheinnet-muc-1", [...reporters("streams"), ...masker]);
    const s = await untilDegraded("rheinnet-muc-1", "rheinnet-muc", MEMBERS_REPORTED);
    expect(s.health).toBe("degraded");
    expect(s.load.healthReason).toBe(MEMBERS_REPORTED);
  });

  it("nor with the reporting members' own other streams and one more member", async () => {
    const theirs = ["a", "b", "c"].map((m) => ({ session: `own-other-${m}`, member: `own-member-${m}` }));
    await serve("rheinnet-muc-2", [...reporters("own"), ...theirs, { session: "own-bystander", member: "own-bystander" }]);
    const s = await untilDegraded("rheinnet-muc-2", "rheinnet-muc", MEMBERS_REPORTED);
    expect(s.health).toBe("degraded");
    expect(s.load.healthReason).toBe(MEMBERS_REPORTED);
  });

  it("is outweighed by healthy traffic from three other members", async () => {
    const others = ["x", "y", "z"].map((m) => ({ session: `others-viewer-${m}`, member: `others-member-${m}` }));
    await serve("lakeshore-chi-1", [...reporters("others"), ...others]);
    // Judged on each sync that brings signals: several passes, none degrades it.
    for (let i = 0; i < 8; i++) {
      await sleep(250);
      expect((await ocaState("lakeshore-chi-1", "lakeshore-chi")).health).toBe("healthy");
    }
    // Healthy because outweighed, not because the reports were lost: the site's window holds all three
    // members' reports and counts the other three members' traffic.
    const site = env.OCA_SITE.get(env.OCA_SITE.idFromName("lakeshore-chi"));
    const w = await runInDurableObject(site, async (_o, state) => windowSignals(state.storage.sql, "lakeshore-chi-1", Date.now()));
    expect(w).toMatchObject({ clientReports: 3, trafficMembers: THRESHOLDS.degradeClientReports });
    expect(judge({ ...w, trafficMembers: 0 })).toMatchObject({ state: "degraded", reason: "3 members reported failed requests or switched away" });
  });
});

describe("probes of an OCA (probe=1: no session entry at its site)", () => {
  // Through the isolate's site link, as app.ts passes a probe the OCA answered: its bytes with no
  // session, its member's streams id, and its outcome.
  const probe = (env_: Env, site: string, ocaId: string, member: string, waitUntil: (p: Promise<unknown>) => void) => {
    recordServed(env_, site, ocaId, null, 65_536, waitUntil, { streams: memberStreamsId(env_, member) });
    for (let i = 0; i < 6; i++) recordOutcome(env_, site, ocaId, `probe-session-${member}`, { error: false, latencyMs: 20 }, waitUntil);
  };

  it("outweigh three members' reports as three other members' healthy traffic, with no session entry", async () => {
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    const [site, ocaId] = ["lakeshore-chi", "lakeshore-chi-2"];
    for (const m of ["a", "b", "c"]) recordClientReport(env, site, ocaId, `probed-reporter-${m}`, `probed-reporter-session-${m}`, waitUntil);
    for (const m of ["x", "y", "z"]) probe(env, site, ocaId, `prober-${m}`, waitUntil);
    while (pending.length) await pending.shift();
    for (let i = 0; i < 8; i++) {
      await sleep(250);
      expect((await ocaState(ocaId, site)).health).toBe("healthy");
    }
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName(site));
    const { w, sessions } = await runInDurableObject(stub, async (o, state) => ({
      // The object's probers, as its evaluation passes them.
      w: windowSignals(state.storage.sql, ocaId, Date.now(), WINDOW_MS, () =>
        (o as unknown as { probers: RecentProbers }).probers.since(ocaId, Date.now() - WINDOW_MS),
      ),
      sessions: state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM oca_sessions WHERE oca_id = ?`, ocaId).one().n,
    }));
    expect(w).toMatchObject({ clientReports: 3, trafficMembers: THRESHOLDS.degradeClientReports });
    expect(sessions).toBe(0);
  });

  it("count against reports that reach the site after them, within the window", async () => {
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    const [site, ocaId] = ["polder-ams", "polder-ams-1"];
    for (const m of ["p", "q", "r"]) probe(env, site, ocaId, `early-prober-${m}`, waitUntil);
    while (pending.length) await pending.shift();
    await sleep(1_000);
    for (const m of ["a", "b", "c"]) recordClientReport(env, site, ocaId, `late-reporter-${m}`, `late-reporter-session-${m}`, waitUntil);
    while (pending.length) await pending.shift();
    for (let i = 0; i < 6; i++) {
      await sleep(250);
      expect((await ocaState(ocaId, site)).health).toBe("healthy");
    }
  });
});

describe("the members whose probes an OCA answered lately", () => {
  it("cannot be crowded out by members who report the OCA and probe it too", async () => {
    const site = env.OCA_SITE.get(env.OCA_SITE.idFromName("ixp-ams"));
    const ocaId = "ixp-ams-1";
    await runInDurableObject(site, async (_o, state) => {
      const sql = state.storage.sql;
      const now = Date.now();
      const p = new RecentProbers();
      p.note(ocaId, ["honest-1", "honest-2", "honest-3"], now - 1_000);
      const colluding = Array.from({ length: 40 }, (_, i) => `colluder-${i}`);
      for (const c of colluding)
        sql.exec(`INSERT INTO oca_client_reporters (oca_id, reporter, at, streams) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, ocaId, c, now, c);
      p.note(ocaId, colluding, now);
      const w = windowSignals(sql, ocaId, now, WINDOW_MS, () => p.since(ocaId, now - WINDOW_MS));
      expect(w).toMatchObject({ clientReports: 40, trafficMembers: THRESHOLDS.degradeClientReports });
      // With fewer reporters than weighing needs, the probers are not even listed (an evaluation per sync).
      sql.exec(`DELETE FROM oca_client_reporters WHERE oca_id = ?`, ocaId);
      let listed = 0;
      const quiet = windowSignals(sql, ocaId, now, WINDOW_MS, () => {
        listed++;
        return p.since(ocaId, now - WINDOW_MS);
      });
      expect(quiet).toMatchObject({ clientReports: 0, trafficMembers: 0 });
      expect(listed).toBe(0);
    });
  });

  it("are kept newest last, at most PROBERS_KEPT an OCA, read by when they were seen, and forgotten on a restore", () => {
    const p = new RecentProbers();
    p.note("o1", ["m1", "m2"], 1_000);
    p.note("o1", ["m1"], 2_000);
    p.note("o2", ["m9"], 2_000);
    expect(p.since("o1", 0)).toEqual(["m2", "m1"]);
    expect(p.since("o1", 1_500)).toEqual(["m1"]);
    p.note(
      "o1",
      Array.from({ length: PROBERS_KEPT + 5 }, (_, i) => `n${i}`),
      3_000,
    );
    const kept = p.since("o1", 0);
    expect(kept).toHaveLength(PROBERS_KEPT);
    expect(kept.at(-1)).toBe(`n${PROBERS_KEPT + 4}`);
    expect(kept).not.toContain("m1");
    p.forget("o1");
    expect(p.since("o1", 0)).toEqual([]);
    expect(p.since("o2", 0)).toEqual(["m9"]);
  });
});

describe("an OCA asked for files it lacks", () => {
  it("is not judged slow for its parents' and origin's time: a miss counts, the walk after it does not", async () => {
    // ixp-fra-1 holds the title; rheinnet-ber-2 (its child) does not. Reads of ixp-fra's copies take
    // 400 ms (deployed, a parent in another colo can be that far): the one thing mocked, by wrapping the
    // tier bucket the Worker is given.
    const TITLE_M = "miss-walk-title";
    await publishTitle(TITLE_M);
    expect((await fill([{ siteId: "ixp-fra", ocaId: "ixp-fra-1", titleIds: [TITLE_M] }])).status).toBe(200);
    const slowParent = new Proxy(env.TIER_EU, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (typeof v !== "function") return v;
        return async (...a: unknown[]) => {
          if ((key === "head" || key === "get") && String(a[0]).startsWith("ixp-fra/")) await sleep(400);
          return (v as (...x: unknown[]) => unknown).apply(t, a);
        };
      },
    });
    const p = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE_M }, GEO.rheinnetBerlin)).json()) as PlayResponse;
    const token = new URL(p.ocas[0].url).pathname.split("/")[4];
    const ctx = createExecutionContext();
    for (let i = 1; i <= 6; i++) {
      // The same segment each time: a copy served from a parent is not kept in this OCA's colo cache.
      const url = `https://edge.test/oca/rheinnet-ber/rheinnet-ber-2/${token}/${TITLE_M}/video/avc-480p/seg-00001.m4s`;
      const res = await worker.fetch(new Request(url), { ...env, TIER_EU: slowParent }, ctx);
      expect(res.status).toBe(200);
      expect(res.headers.get("X-OCA-Source")).toBe("parent:ixp-fra/ixp-fra-1");
      await res.arrayBuffer();
    }
    await waitOnExecutionContext(ctx);
    // Judged on the syncs that carried those six requests: never degraded for their 400 ms walks.
    for (let i = 0; i < 6; i++) {
      const s = await ocaState("rheinnet-ber-2", "rheinnet-ber");
      expect(s.health, s.load.healthReason).toBe("healthy");
      await sleep(250);
    }
    // They did arrive, as misses of the title at that OCA with their bytes (the play counted one more,
    // without bytes: its home site held no copy).
    const site = (await (await call("/admin/sites/rheinnet-ber", { headers: ADMIN })).json()) as {
      misses: Array<{ ocaId: string; titleId: string; count: number }>;
    };
    expect(site.misses).toEqual(
      expect.arrayContaining([expect.objectContaining({ ocaId: "rheinnet-ber-2", titleId: TITLE_M, kind: "content", count: 7, bytes: 6 * 64 * 1024 })]),
    );
  }, 30_000);
});
