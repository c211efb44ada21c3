import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, fill, forgeToken, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * Adversarial fuzz: at least 10,000 seeded hostile requests across every route of the real Worker in
 * workerd (methods, paths, headers, bodies, Range and conditionals, tokens with inherited key ids and
 * non-canonical encodings). Loopback only (in-process), bounded in time. It must see no 5xx other than
 * the documented 503s, no request that hangs, no error without the JSON error shape, and no file or
 * steering answer for a token that the play request did not sign.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const REQUESTS = 10_000;
const CONCURRENCY = 8;
const PER_REQUEST_TIMEOUT_MS = 10_000;
const BUDGET_MS = 240_000;
const DOCUMENTED_503 = new Set(["not_configured", "oca_failed", "changed_during_read", "catalogue_unavailable"]);
const TITLE = "fuzz-title";
const OTHER = "fuzz-other";

/** mulberry32: small, seeded, good enough to pick cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

let play: PlayResponse;
let token: string;
let member: string;

const INHERITED = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype", "isPrototypeOf"];
const junkStrings = (r: Rng): string =>
  r.pick([
    "",
    "a",
    "..",
    "%2e%2e",
    "%2F",
    "%00",
    "%ZZ",
    "\u00e9t\u00e9",
    "x".repeat(300),
    "a.b.c",
    "-",
    "_",
    ...INHERITED,
    String(r.int(1e9)),
    "null",
    "undefined",
    "NaN",
    "<script>",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, sent literally
    "${jndi:ldap://x}",
    "../../etc/passwd",
  ]);

function inheritedToken(r: Rng, titleId: string, sessionId: string): Promise<string> {
  const kid = r.pick(INHERITED);
  return forgeToken(
    kid,
    r.pick(["[object Object]", "function Object() { [native code] }", `function ${kid}() { [native code] }`, "undefined"]),
    titleId,
    sessionId,
  );
}

/** A token: the real one, or a hostile variant of it. */
async function fuzzToken(r: Rng): Promise<string> {
  const parts = token.split(".");
  switch (r.int(9)) {
    case 0:
      return token;
    case 1:
      return inheritedToken(r, r.pick([TITLE, OTHER]), r.pick([play.sessionId, "s-1"]));
    case 2: {
      const i = r.int(token.length);
      const ch = r.pick([..."AZaz09-_."]);
      return token.slice(0, i) + ch + token.slice(i + 1);
    }
    case 3:
      return [parts[0], parts[1], parts[2], `0${parts[3]}`, ...parts.slice(4)].join(".");
    case 4:
      return [...parts.slice(0, 4), r.pick([`0${parts[4]}`, "4320"]), ...parts.slice(5)].join(".");
    case 5:
      return [...parts.slice(0, 5), r.pick(["2", "999999999", `0${parts[5]}`, "0"]), parts[6]].join(".");
    case 6:
      return [parts[0], r.pick(["k9", "", "K1", ...INHERITED]), ...parts.slice(2)].join(".");
    case 7:
      return `${token}${r.pick(["=", "A", ".", "%00"])}`;
    default:
      return junkStrings(r);
  }
}

/** A session token (steering paths): the real one, or a hostile variant of it. */
function fuzzSessionToken(r: Rng): string {
  const real = play.sessionToken;
  const [v, kid, payload, mac] = real.split(".");
  switch (r.int(7)) {
    case 0:
      return real;
    case 1: {
      const i = r.int(real.length);
      return real.slice(0, i) + r.pick([..."AZaz09-_."]) + real.slice(i + 1);
    }
    case 2:
      return [v, r.pick(["k9", "", "K1", ...INHERITED]), payload, mac].join(".");
    case 3:
      // Claims of the attacker's choosing (a longer cap, another title) under the real MAC.
      return [v, kid, btoa(JSON.stringify({ sid: play.sessionId, tid: TITLE, cap: 4320 })).replace(/=+$/, ""), mac].join(".");
    case 4:
      return `${real}${r.pick(["=", "A", ".", "%00"])}`;
    case 5:
      return token;
    default:
      return junkStrings(r);
  }
}

const RANGES = [
  "bytes=0-99",
  "bytes=-1",
  "bytes=99999999999999999999-",
  "bytes=5-1",
  "bytes=0-0,2-3",
  "items=0-1",
  "bytes=",
  "bytes=-",
  "garbage",
  "bytes=0-" + "9".repeat(30),
];
const DATES = ["Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "yesterday", "", new Date().toUTCString()];
const FILES = [
  "master.m3u8",
  "manifest.mpd",
  "video/avc-240p/init.mp4",
  "video/avc-720p/seg-00001.m4s",
  "audio/aac-en/seg-00001.m4s",
  "subs/sub-en.vtt",
  "../fuzz-other/master.m3u8",
  "video/..%2f..%2fmaster.m3u8",
  "a/b/c/d/e/f/g/h/i/j",
  "%00",
  "x".repeat(200),
];

function hostileHeaders(r: Rng, h: Record<string, string>): void {
  if (r.next() < 0.3) h.Range = r.pick(RANGES);
  if (r.next() < 0.15) h["If-None-Match"] = r.pick(['"x"', "*", 'W/"x"', "", "junk"]);
  if (r.next() < 0.15) h["If-Match"] = r.pick(['"x"', "*", 'W/"x"', "junk"]);
  if (r.next() < 0.15) h["If-Modified-Since"] = r.pick(DATES);
  if (r.next() < 0.15) h["If-Unmodified-Since"] = r.pick(DATES);
  if (r.next() < 0.1) h["If-Range"] = r.pick(['"x"', ...DATES]);
  if (r.next() < 0.3)
    h["X-Client-Geo"] = r.pick([GEO.lumenNyc, GEO.otherParis, "asn=abc", "country=__proto__", "lat=999", "a=b=c", ";;;", "asn=64500;asn=1", "constructor=1"]);
}

function hostileBody(r: Rng, valid: object): string | undefined {
  switch (r.int(12)) {
    case 0:
      return undefined;
    case 1:
      return "{";
    case 2:
      return "null";
    case 3:
      return JSON.stringify(valid);
    case 4:
      return '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}';
    case 5:
      return JSON.stringify({ ...valid, extra: "x".repeat(r.int(300_000)) });
    case 6:
      return "[".repeat(5000) + "]".repeat(5000);
    case 7:
      return JSON.stringify(Object.fromEntries(Object.keys(valid).map((k) => [k, r.pick([null, 1e308, -1, "", [], {}, true, "__proto__"])])));
    case 8:
      return JSON.stringify({ ...valid, titleId: r.pick(INHERITED), memberId: r.pick(INHERITED), plan: r.pick(["__proto__", "premium", "gold"]) });
    case 9:
      return "\u0000\u0001\u0002";
    case 10:
      return JSON.stringify({
        ...valid,
        events: Array.from({ length: r.pick([0, 1, 201]) }, () => ({ type: r.pick(["start", "__proto__", "stop"]), bytes: r.pick([1e12, -1, 1e300, 1]) })),
      });
    default:
      return JSON.stringify(valid);
  }
}

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The token the request carries, when it is a token route: a 2xx for any other than the real one is a forgery. */
  token?: string;
  titleId?: string;
}

async function nextCase(r: Rng, i: number): Promise<Case> {
  const headers: Record<string, string> = { "CF-Connecting-IP": `10.${(i >> 8) & 255}.${i & 255}.${r.int(250)}` };
  const auth = () => {
    const roll = r.int(6);
    if (roll <= 2) headers.Authorization = `Bearer ${member}`;
    else if (roll === 3) headers.Authorization = `Bearer ${r.pick(["x.y.z", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwicGxhbiI6InByZW1pdW0ifQ.", junkStrings(r)])}`;
    else if (roll === 4) headers.Authorization = r.pick(["Basic Zm9vOmJhcg==", "Bearer", ""]);
  };
  const family = r.int(10);
  if (family <= 2) {
    const t = await fuzzToken(r);
    const titleId = r.next() < 0.8 ? TITLE : r.pick([OTHER, ...INHERITED, junkStrings(r)]);
    const site = r.next() < 0.85 ? r.pick(["lumen-nyc/lumen-nyc-1", "lumen-nyc/lumen-nyc-2", "origin/origin"]) : `${junkStrings(r)}/${junkStrings(r)}`;
    hostileHeaders(r, headers);
    return {
      method: r.pick(["GET", "GET", "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"]),
      path: `/oca/${site}/${t}/${titleId}/${r.pick(FILES)}`,
      headers,
      token: t,
      titleId,
    };
  }
  if (family === 3) {
    const t = fuzzSessionToken(r);
    const titleId = r.next() < 0.8 ? TITLE : r.pick([OTHER, ...INHERITED]);
    const query = r.pick([
      "",
      "?_HLS_pathway=lumen-nyc-1&_HLS_throughput=NaN",
      "?_DASH_pathway=%22a,b,__proto__%22&_DASH_throughput=1e400,",
      "?start=1",
      "?_HLS_throughput=-5&_HLS_pathway=constructor",
      "?dash=1",
    ]);
    return {
      method: r.pick(["GET", "GET", "HEAD", "POST"]),
      path: `/v1/steering/${t}/${titleId}/${r.pick(["steering.json", "master.m3u8", "manifest.mpd", "junk", "__proto__"])}${query}`,
      headers,
      token: t,
      titleId,
    };
  }
  if (family === 4) {
    auth();
    hostileHeaders(r, headers);
    headers["Content-Type"] = r.pick(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]);
    return {
      method: r.pick(["POST", "POST", "GET", "PUT"]),
      path: "/v1/play",
      headers,
      body: hostileBody(r, { titleId: TITLE, device: { codecs: ["avc1", "mp4a"], maxHeight: 1080 } }),
    };
  }
  if (family === 5) {
    auth();
    headers["Content-Type"] = "application/json";
    return {
      method: "POST",
      path: "/v1/events",
      headers,
      body: hostileBody(r, {
        sessionId: play.sessionId,
        sessionToken: fuzzSessionToken(r),
        batchId: `fuzz-${i}-batch`,
        events: [{ type: "progress", bytes: r.pick([1, 1e12]) }],
      }),
    };
  }
  if (family === 6) {
    headers["Content-Type"] = "application/json";
    return { method: r.pick(["POST", "GET"]), path: "/v1/dev/token", headers, body: hostileBody(r, { memberId: `fuzz-${r.int(20)}`, plan: "basic" }) };
  }
  if (family === 7) {
    auth();
    return {
      method: r.pick(["GET", "HEAD", "POST"]),
      path: r.pick(["/v1/titles", "/v1/titles?country=__proto__", "/v1", "/v1/", "/v1/titles/" + junkStrings(r)]),
      headers,
    };
  }
  if (family === 8) {
    // Admin: mostly without or with a wrong bearer; with the right one only reads and bodies that cannot validate.
    const right = r.next() < 0.4;
    headers.Authorization = right ? ADMIN.Authorization : r.pick(["Bearer wrong", "Bearer ", "Basic x", ""]);
    const id = r.pick([...INHERITED, "lumen-nyc", TITLE, junkStrings(r)]);
    const reads = [
      `/admin/topology`,
      `/admin/sites/${id}`,
      `/admin/sites/${id}/plan`,
      `/admin/sites/${id}/views?days=${r.pick(["-1", "1e9", "abc", "7"])}`,
      `/admin/titles/${id}`,
      `/admin/origin/${id}`,
      `/admin/sessions/${id}/events`,
    ];
    if (right) return { method: "GET", path: r.pick(reads), headers };
    headers["Content-Type"] = "application/json";
    const writes = [`/admin/fill`, `/admin/titles/${id}`, `/admin/sites/${id}/ocas/${id}/health`, `/admin/sites/${id}/chaos`, `/admin/origin/${id}/x.bin`];
    return {
      method: r.pick(["GET", "POST", "PUT", "DELETE"]),
      path: r.pick([...reads, ...writes]),
      headers,
      body: r.next() < 0.5 ? '{"health":"failed"}' : undefined,
    };
  }
  return {
    method: r.pick(["GET", "POST", "TRACE", "OPTIONS"]),
    path: r.pick(["/", "/nope", "/%00", `/${"a/".repeat(200)}`, "/oca", "/oca/", "/v2/play", "/admin", "/v1/steering/", "/oca/%ZZ/%ZZ/%ZZ/%ZZ/%ZZ"]),
    headers,
  };
}

beforeAll(async () => {
  await publishTitle(TITLE);
  await publishTitle(OTHER);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE, OTHER] }])).status).toBe(200);
  member = await memberToken("premium", "fuzz-member");
  play = (await (await pressPlay(member, { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  token = play.ocas[0].url.split("/")[6];
});

describe("a fuzz of hostile requests", () => {
  it(`answers ${REQUESTS} seeded hostile requests (seed ${SEED}) with no 5xx but documented 503s, no hang and no forged success`, {
    timeout: BUDGET_MS + 60_000,
  }, async () => {
    const r = prng(SEED);
    const started = Date.now();
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    let forgedTried = 0;

    const pending = new Set<string>();
    async function one(c: Case): Promise<void> {
      const method = c.method;
      const what = `${method} ${c.path.slice(0, 160)}`;
      pending.add(what);
      const res = await call(c.path, { method, headers: c.headers, body: method === "GET" || method === "HEAD" ? undefined : c.body }).catch(
        (err: unknown) => err as Error,
      );
      if (res instanceof Error) {
        pending.delete(what);
        return void failures.push(`threw: ${what}: ${res.message}`);
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const text = method === "HEAD" ? "" : await res.text();
      if (res.status >= 500) {
        const code = safeCode(text);
        if (!(res.status === 503 && code && DOCUMENTED_503.has(code))) failures.push(`${res.status} ${code ?? text.slice(0, 80)}: ${what}`);
      }
      if (res.status >= 400 && method !== "HEAD" && !safeCode(text)) failures.push(`no error shape (${res.status}): ${what}`);
      pending.delete(what);
      if (c.token !== undefined) {
        const legit = (c.token === token || c.token === play.sessionToken) && c.titleId === TITLE;
        if (!legit) forgedTried++;
        if (!legit && res.status >= 200 && res.status < 400 && method !== "OPTIONS") failures.push(`forged success ${res.status}: ${what}`);
      }
    }

    // One watchdog per batch (workerd caps the timers a test may hold): a batch that does not finish
    // within the bound names the requests still pending as hangs.
    const settle = async (batch: Promise<void>[]) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const watchdog = new Promise<"hang">((resolve) => (timer = setTimeout(() => resolve("hang"), PER_REQUEST_TIMEOUT_MS)));
      const outcome = await Promise.race([Promise.all(batch), watchdog]);
      if (timer !== undefined) clearTimeout(timer);
      if (outcome === "hang") {
        for (const w of pending) failures.push(`hang: ${w}`);
        pending.clear();
      }
    };
    const queue: Promise<void>[] = [];
    for (let i = 0; i < REQUESTS && Date.now() - started < BUDGET_MS; i++) {
      const c = await nextCase(r, i);
      sent++;
      queue.push(one(c));
      if (queue.length >= CONCURRENCY) await settle(queue.splice(0));
    }
    await settle(queue);

    const summary = `${sent} requests in ${Date.now() - started} ms; ${forgedTried} with a token not signed for them; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`;
    console.log(`fuzz: ${summary}`);
    expect(failures.slice(0, 20), summary).toEqual([]);
    expect(sent).toBe(REQUESTS);
    expect(forgedTried).toBeGreaterThan(2000);
  });
});

function safeCode(text: string): string | null {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    return typeof body?.error?.code === "string" && typeof body.error.message === "string" ? body.error.code : null;
  } catch {
    return null;
  }
}
