import { runInDurableObject, env } from "cloudflare:test";
import { appendCmcdQuery, CMCD_V1, toCmcdHeaders } from "@svta/cml-cmcd";
import { beforeAll, describe, expect, it } from "vitest";
import { readCmcd, MAX_CMCD_CHARS } from "../workers/edge/cmcd";
import { ingestCmcd, cmcdSession, sanitizeCmcd } from "../durable-objects/site/cmcd";
import { history, recordPlays, recordReport } from "../durable-objects/site/viewing-history";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

// CMCD (CTA-5004) from any player: the data plane reads it on media requests and the session's home
// site keeps it beside the SDK's QoE, its bytes counting in the viewing history. Payloads are built
// with @svta/cml-cmcd, the library stock hls.js and dash.js encode theirs with.

const TITLE = "cmcd-title";
const SEG = "video/avc-480p/seg-00001.m4s";
const req = (url: string, headers: Record<string, string> = {}) => new Request(url, { headers });

describe("reading CMCD from a request (pure)", () => {
  const base = "https://cdn.test/oca/s/o/t/x/seg.m4s";
  const data = { sid: "player-1", cid: "t", ot: "v" as const, br: [1400], bl: [8000], mtp: [25000], d: 4000, bs: true, su: false };
  const V1 = { version: CMCD_V1 };

  it("reads query mode and header mode to the same sample", () => {
    const q = appendCmcdQuery(base, data, V1);
    const fromQuery = readCmcd(req(q), new URL(q));
    const fromHeaders = readCmcd(req(base, toCmcdHeaders(data, V1)), new URL(base));
    expect(fromQuery).toEqual({ sid: "player-1", ot: "v", br: 1400, bl: 8000, mtp: 25000, d: 4000, bs: true, su: false });
    expect(fromHeaders).toEqual(fromQuery);
  });

  it("takes the first item of a CMCD v2 inner list", () => {
    const u = `${base}?CMCD=${encodeURIComponent("br=(3000 400),bl=(1200),mtp=5000,ot=v,v=2")}`;
    expect(readCmcd(req(u), new URL(u))).toMatchObject({ br: 3000, bl: 1200, mtp: 5000 });
  });

  it("ignores what is not CMCD: garbage, oversize payloads, unknown object types, negative and huge numbers, inherited keys", () => {
    const bad = [
      `${base}?CMCD=${encodeURIComponent('garbage=,,=,"')}`,
      `${base}?CMCD=${encodeURIComponent(`sid="${"x".repeat(MAX_CMCD_CHARS)}"`)}`,
      `${base}?CMCD=`,
      `${base}?CMCD=${encodeURIComponent("__proto__=1,br=5")}`,
    ];
    for (const u of bad) expect(readCmcd(req(u), new URL(u)), u).toBeNull();
    const odd = `${base}?CMCD=${encodeURIComponent(`ot=zz,br=-5,bl=999999999999,mtp=99999999999,constructor=1,sid="${"s".repeat(65)}"`)}`;
    const s = readCmcd(req(odd), new URL(odd));
    expect(s).toEqual({ sid: null, ot: null, br: null, bl: 86_400_000, mtp: 100_000_000, d: null, bs: false, su: false });
    expect(readCmcd(req(base), new URL(base))).toBeNull();
  });

  it("keeps a player's sid only as printable ASCII: control characters and non-ASCII are not kept for operators", () => {
    for (const sid of ["a\u0000b", "line\nbreak", "\u001b[31mred", "caf\u00e9", "\u{1F600}"]) {
      const u = `${base}?CMCD=${encodeURIComponent(`sid="${sid}",ot=v`)}`;
      const s = readCmcd(req(u), new URL(u));
      expect(s?.sid ?? null, JSON.stringify(sid)).toBeNull();
    }
    const ok = `${base}?CMCD=${encodeURIComponent('sid="6e2fb550-c457-11e9-bb97-0800200c9a66",ot=v')}`;
    expect(readCmcd(req(ok), new URL(ok))?.sid).toBe("6e2fb550-c457-11e9-bb97-0800200c9a66");
    // The site keeps what it is sent under the same rule (an isolate on other code may send anything).
    expect(sanitizeCmcd({ sessionId: crypto.randomUUID(), titleId: "t", sid: "x\u0007y", requests: 1 }, 1)?.sid).toBeNull();
    expect(sanitizeCmcd({ sessionId: crypto.randomUUID(), titleId: "t", sid: "player-1", requests: 1 }, 1)?.sid).toBe("player-1");
  });
});

describe("a site's CMCD sessions and viewing history (module)", () => {
  const stub = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
  const T0 = 1_800_000_000_000;
  const DAY = 20_000;
  const play = (sessionId: string) => ({ sessionId, titleId: "t", day: DAY, estBytes: 10 ** 9, topBps: 8_000_000, startedAt: T0 });
  const cmcd = (sessionId: string, over: Record<string, unknown> = {}) => ({
    sessionId,
    titleId: "t",
    sid: "p",
    requests: 3,
    bytes: 3_000_000,
    stalls: 1,
    startups: 1,
    bitrateKbps: 1400,
    bufferMs: 8000,
    throughputKbps: 20_000,
    topBitrateKbps: 2800,
    lastOca: "lumen-nyc/lumen-nyc-1",
    firstAt: T0 + 1000,
    lastAt: T0 + 9000,
    ...over,
  });

  it("counts a stock player's served bytes in its session instead of the play estimate", async () => {
    await runInDurableObject(stub("lumen-lax"), async (_i, state) => {
      const sql = state.storage.sql;
      recordPlays(sql, [play("stock")]);
      expect(history(sql, DAY, DAY)).toEqual({ t: [10 ** 9] });
      ingestCmcd(sql, [cmcd("stock")], DAY, T0 + 10_000);
      expect(history(sql, DAY, DAY)).toEqual({ t: [3_000_000] });
      ingestCmcd(sql, [cmcd("stock", { requests: 1, bytes: 1_000_000, stalls: 0, startups: 0, bitrateKbps: 2800, lastAt: T0 + 12_000 })], DAY, T0 + 13_000);
      const s = cmcdSession(sql, "stock");
      expect(s).toMatchObject({ requests: 4, bytes: 4_000_000, stalls: 1, startups: 1, bitrateKbps: 2800, topBitrateKbps: 2800, countedBytes: 4_000_000 });
      expect(history(sql, DAY, DAY)).toEqual({ t: [4_000_000] });
    });
  });

  it("moves a session's place in the forgetting order once a minute, not with every report", async () => {
    await runInDurableObject(stub("polder-ams"), async (_i, state) => {
      const real = state.storage.sql;
      let written = 0;
      const sql = {
        databaseSize: real.databaseSize,
        exec: (q: string, ...args: SqlStorageValue[]) => {
          const c = real.exec(q, ...args);
          queueMicrotask(() => (written += c.rowsWritten));
          return c;
        },
      } as SqlStorage;
      const heard = () => real.exec<{ h: number }>(`SELECT heard_at AS h FROM cmcd_sessions WHERE session_id = 'heard'`).one().h;
      const report = async (at: number) => {
        written = 0;
        ingestCmcd(sql, [cmcd("heard", { firstAt: at, lastAt: at })], DAY, at);
        await Promise.resolve();
        return written;
      };
      await report(T0);
      expect(heard()).toBe(T0);
      // Seconds later: the row's counters change, no index entry (one row written; two when its
      // indexed last_at moved with each report).
      expect(await report(T0 + 5_000)).toBe(1);
      expect(heard()).toBe(T0);
      // A minute on: its heard time moves too (the row again and its index entry).
      expect(await report(T0 + 61_000)).toBe(3);
      expect(heard()).toBe(T0 + 61_000);
    });
  });

  it("counts the same bytes once when the SDK reports them and sends CMCD too", async () => {
    await runInDurableObject(stub("lumen-sea"), async (_i, state) => {
      const sql = state.storage.sql;
      recordPlays(sql, [play("both")]);
      recordReport(sql, { ...play("both"), reportDay: DAY, bytes: 2_000_000, now: T0 + 10_000 });
      ingestCmcd(sql, [cmcd("both", { bytes: 2_500_000 })], DAY, T0 + 10_000);
      expect(history(sql, DAY, DAY)).toEqual({ t: [2_500_000] });
      recordReport(sql, { ...play("both"), reportDay: DAY, bytes: 1_000_000, now: T0 + 11_000 });
      expect(history(sql, DAY, DAY)).toEqual({ t: [3_000_000] });
    });
  });

  it("holds every claim to what it could honestly be: stalls never above requests, bytes within the session's caps, unknown sessions uncounted", async () => {
    await runInDurableObject(stub("lumen-chi"), async (_i, state) => {
      const sql = state.storage.sql;
      recordPlays(sql, [play("greedy")]);
      ingestCmcd(
        sql,
        [
          cmcd("greedy", { requests: 2, stalls: 10 ** 9, startups: -4, bytes: 10 ** 15, bitrateKbps: Number.NaN }),
          cmcd("never-played"),
          { sessionId: "__proto__", titleId: 5, requests: 1 },
          cmcd("bad id!"),
          "not a report",
        ],
        DAY,
        T0 + 10_000,
      );
      const s = cmcdSession(sql, "greedy")!;
      expect(s).toMatchObject({ requests: 2, stalls: 2, startups: 0, bitrateKbps: null });
      // 10 s since the play at 8 Mbit/s plus the prebuffer allowance, not 10^15 bytes.
      expect(s.countedBytes).toBe(((10 + 120) * 8_000_000) / 8);
      expect(cmcdSession(sql, "never-played")).toMatchObject({ requests: 3, countedBytes: 0 });
      expect(cmcdSession(sql, "__proto__")).toBeNull();
      expect(history(sql, DAY, DAY)).toEqual({ t: [s.countedBytes] });
    });
  });
});

describe("CMCD on OCA requests reaches the session's home site", () => {
  let p: PlayResponse;

  beforeAll(async () => {
    await publishTitle(TITLE);
    expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
    const res = await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc);
    expect(res.status).toBe(200);
    p = (await res.json()) as PlayResponse;
  });

  async function cmcdOf(sessionId: string, until: (c: { requests: number } | null) => boolean) {
    let body: { homeSiteId: string | null; cmcd: Record<string, number | string | null> | null } = { homeSiteId: null, cmcd: null };
    for (let i = 0; i < 150; i++) {
      body = await (await call(`/admin/sessions/${sessionId}/events`, { headers: ADMIN })).json();
      if (until(body.cmcd as { requests: number } | null)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return body;
  }

  it("counts requests, bytes and stalls from query and header mode, whichever OCA served them", async () => {
    const held = p.ocas.find((o) => o.siteId === "lumen-nyc")!;
    const other = p.ocas.find((o) => o.siteId !== "lumen-nyc")!;
    const q = appendCmcdQuery(`${held.url}${SEG}`, { sid: "stock-1", cid: TITLE, ot: "v", br: [1400], bl: [4000], mtp: [30000], su: true });
    const a = await call(q);
    expect(a.status).toBe(200);
    const aBytes = (await a.arrayBuffer()).byteLength;
    // Header mode, a stall flagged, from another OCA (its parent or origin serves the bytes).
    const b = await call(`${other.url}${SEG}`, { headers: toCmcdHeaders({ sid: "stock-1", ot: "v", br: [2800], bl: [0], mtp: [9000], bs: true }) });
    expect(b.status).toBe(200);
    const bBytes = (await b.arrayBuffer()).byteLength;
    // A malformed CMCD value never costs the viewer the segment.
    const c = await call(`${held.url}${SEG}?CMCD=${encodeURIComponent('bl=,,"')}`);
    expect(c.status).toBe(200);
    await c.arrayBuffer();

    const body = await cmcdOf(p.sessionId, (x) => (x?.requests ?? 0) >= 2);
    expect(body.homeSiteId).toBe("lumen-nyc");
    expect(body.cmcd).toMatchObject({
      sessionId: p.sessionId,
      titleId: TITLE,
      sid: "stock-1",
      requests: 2,
      bytes: aBytes + bBytes,
      stalls: 1,
      startups: 1,
      bitrateKbps: 2800,
      topBitrateKbps: 2800,
      bufferMs: 0,
      throughputKbps: 9000,
      lastOca: other.siteId === "origin" ? "origin" : `${other.siteId}/${other.ocaId}`,
      countedBytes: aBytes + bBytes,
    });
    // A support desk pasting the id in upper case reads the same session.
    const upper = await call(`/admin/sessions/${p.sessionId.toUpperCase()}/events`, { headers: ADMIN });
    expect(upper.status).toBe(200);
    expect(await upper.json()).toMatchObject({ sessionId: p.sessionId, homeSiteId: "lumen-nyc", cmcd: { requests: 2, bytes: aBytes + bBytes } });
  });

  it("lets players on other origins send CMCD headers (CORS preflight)", async () => {
    const res = await call(`${p.ocas[0].url}${SEG}`, {
      method: "OPTIONS",
      headers: {
        Origin: "https://player.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "cmcd-request,cmcd-object,cmcd-status,cmcd-session",
      },
    });
    expect(res.status).toBe(204);
    const allowed = (res.headers.get("Access-Control-Allow-Headers") ?? "").toLowerCase();
    for (const h of ["cmcd-request", "cmcd-object", "cmcd-status", "cmcd-session"]) expect(allowed).toContain(h);
  });
});
