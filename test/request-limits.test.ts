import { describe, expect, it } from "vitest";
import { BODY_LIMITS, enforceIsolateLimit } from "../workers/control/limits";
import { ApiError } from "../workers/shared/errors";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

// Rate limits run on workerd's local Rate Limiting binding (wrangler.toml [[ratelimits]]), except
// plays per member (counted by the member's Durable Object) and steering polls per session (counted
// in the isolate). Each test uses its own member and client IP (CF-Connecting-IP, which Cloudflare's
// edge sets in production), so buckets do not leak between tests.

type ErrorBody = { error: { code: string; message: string; details?: { limitBytes?: number; limiter?: string } } };
const json = { "Content-Type": "application/json" };

describe("request bodies over a route's limit", () => {
  it.each([
    ["/v1/play", BODY_LIMITS.play, true],
    ["/v1/events", BODY_LIMITS.events, true],
    ["/v1/dev/token", BODY_LIMITS.devToken, false],
  ])("%s refuses more than its limit with 413 in the error shape, before parsing", async (path, limit, member) => {
    const auth: Record<string, string> = member ? { Authorization: `Bearer ${await memberToken("basic", "limits-body")}` } : {};
    const body = JSON.stringify({ titleId: "x", pad: "x".repeat(limit) });
    const res = await call(path, { method: "POST", headers: { ...json, ...auth, "CF-Connecting-IP": "198.51.100.1" }, body });
    expect(res.status).toBe(413);
    const err = (await res.json()) as ErrorBody;
    expect(err.error.code).toBe("payload_too_large");
    expect(err.error.details?.limitBytes).toBe(limit);
  });

  it("counts the bytes of a streamed body without Content-Length too", async () => {
    const chunk = new TextEncoder().encode("x".repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent++ < 8) ctrl.enqueue(chunk);
        else ctrl.close();
      },
    });
    const res = await call("/v1/play", {
      method: "POST",
      headers: { ...json, Authorization: `Bearer ${await memberToken("basic", "limits-body")}`, "CF-Connecting-IP": "198.51.100.2" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it("admin JSON routes refuse bodies over 4 MiB", async () => {
    const res = await call("/admin/titles/limits-big", {
      method: "PUT",
      headers: { ...ADMIN, ...json },
      body: JSON.stringify({ name: "x".repeat(BODY_LIMITS.adminJson) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe("payload_too_large");
  });
});

/**
 * Sends until a 429. The local limiter counts in fixed windows aligned to the wall clock's minute:
 * start early in a window, so a run of a few seconds never straddles two windows.
 */
/**
 * Limit windows are aligned to the wall clock's minute: a flood (and the checks after it) must not
 * straddle one, and under a loaded CI machine a flood can take 15 s. Waits for the next window
 * unless in the first half of this one.
 */
async function inFirstHalfOfWindow(): Promise<void> {
  const intoWindow = Date.now() % 60_000;
  if (intoWindow > 30_000) await new Promise((r) => setTimeout(r, 60_000 - intoWindow + 50));
}

/** Sends until a 429, in the first half of a window; `aligned`: the caller already waited for one (its own counted calls come first). */
async function until429(send: () => Promise<Response>, max: number, aligned = false): Promise<{ allowed: number; res: Response }> {
  if (!aligned) await inFirstHalfOfWindow();
  for (let i = 0; i < max; i++) {
    const res = await send();
    if (res.status === 429) return { allowed: i, res };
    await res.arrayBuffer();
  }
  throw new Error(`no 429 after ${max} requests`);
}

async function expectLimited(res: Response, limiter: string): Promise<void> {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
  const err = (await res.json()) as ErrorBody;
  expect(err.error.code).toBe("rate_limited");
  expect(err.error.details?.limiter).toBe(limiter);
}

// A flood may first wait up to 30 s for the next minute's window (until429), then take 15 s on a
// loaded machine: more than the default 30 s test timeout.
describe("rate limits", { timeout: 90_000 }, () => {
  it("trip on dev tokens per client IP, and leave other IPs alone", async () => {
    const send = (ip: string) =>
      call("/v1/dev/token", { method: "POST", headers: { ...json, "CF-Connecting-IP": ip }, body: JSON.stringify({ memberId: "limits-dev", plan: "basic" }) });
    const { allowed, res } = await until429(() => send("203.0.113.10"), 200);
    expect(allowed).toBe(120);
    await expectLimited(res, "DEV_TOKEN_PER_IP");
    expect((await send("203.0.113.11")).status).toBe(200);
  });

  it("trip on failed admin tokens per client IP: past 20 the address is refused, its right token too, and other addresses are not", async () => {
    const admin = (ip: string, token: string) => call("/admin/topology", { headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": ip } });
    // The right token is never counted: an operator's own requests do not use up the failures.
    await inFirstHalfOfWindow();
    for (let i = 0; i < 30; i++) expect((await admin("203.0.113.30", "test-admin-token")).status).toBe(200);
    const { allowed, res } = await until429(() => admin("203.0.113.30", "guess-0123456789abcdef"), 100, true);
    expect(allowed).toBe(20);
    await expectLimited(res, "ADMIN_AUTH_PER_IP");
    // Refused before the token is compared: the right one from that address learns nothing either.
    const right = await admin("203.0.113.30", "test-admin-token");
    await expectLimited(right, "ADMIN_AUTH_PER_IP");
    expect((await admin("203.0.113.31", "test-admin-token")).status).toBe(200);
    const other = await admin("203.0.113.31", "guess-0123456789abcdef");
    expect(other.status).toBe(401);
    expect(((await other.json()) as ErrorBody).error.code).toBe("unauthorized");
  });

  it("trip on plays per member in the member's own object, whatever IP they come from, counting refused plays too", async () => {
    await publishTitle("limits-play-title");
    expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["limits-play-title"] }])).status).toBe(200);
    const token = await memberToken("basic");
    let n = 0;
    const statuses: number[] = [];
    const send = async () => {
      const res = await call("/v1/play", {
        method: "POST",
        headers: { ...json, Authorization: `Bearer ${token}`, "CF-Connecting-IP": `203.0.113.${20 + (n++ % 50)}`, "X-Client-Geo": GEO.lumenNyc },
        body: JSON.stringify({ titleId: "limits-play-title" }),
      });
      statuses.push(res.status);
      return res;
    };
    const { allowed, res } = await until429(send, 100);
    expect(allowed).toBe(60);
    // Basic allows one stream: one play granted, then 409s, which count toward the rate as well.
    expect(statuses.slice(0, 60).filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.slice(1, 60).every((s) => s === 409)).toBe(true);
    await expectLimited(res, "PLAY_PER_MEMBER");
    expect(Number(res.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
    // Another member is not affected.
    expect((await pressPlay(await memberToken("basic"), { titleId: "limits-play-title" }, GEO.lumenNyc)).status).toBe(200);
  });

  it("trip on plays per member refused before the member's object is asked (titles that do not exist)", async () => {
    const token = await memberToken("basic");
    let n = 0;
    const statuses: number[] = [];
    const send = async () => {
      const res = await pressPlay(token, { titleId: `no-such-title-${n++}` }, GEO.lumenNyc);
      statuses.push(res.status);
      return res;
    };
    const { allowed, res } = await until429(send, 100);
    expect(allowed).toBe(60);
    expect(statuses.slice(0, 60).every((s) => s === 404)).toBe(true);
    await expectLimited(res, "PLAY_PER_MEMBER");
  });

  it("trip on browse-list reads per member", async () => {
    const token = await memberToken("basic");
    const { allowed, res } = await until429(() => call("/v1/titles", { headers: { Authorization: `Bearer ${token}` }, geo: GEO.lumenNyc }), 100);
    expect(allowed).toBe(60);
    await expectLimited(res, "BROWSE_PER_MEMBER");
  });

  it("trip on plays per client IP whose member token fails, while verified members' plays from that address go on", async () => {
    await publishTitle("limits-ip-play-title");
    expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["limits-ip-play-title"] }])).status).toBe(200);
    const ip = { "CF-Connecting-IP": "203.0.113.150" };
    const body = JSON.stringify({ titleId: "limits-ip-play-title" });
    const codes: string[] = [];
    let n = 0;
    const forged = async () => {
      const res = await call("/v1/play", { method: "POST", headers: { ...json, ...ip, Authorization: `Bearer forged.${n++}.token` }, body });
      if (res.status !== 429) codes.push(((await res.clone().json()) as ErrorBody).error.code);
      return res;
    };
    // vitest.config.ts lowers this binding's limit to 50 (1,200 deployed).
    const { allowed, res } = await until429(forged, 100);
    expect(allowed).toBe(50);
    expect(new Set(codes)).toEqual(new Set(["unauthorized"]));
    await expectLimited(res, "PLAY_PER_IP");
    // A request with no token at all is the same flood.
    await expectLimited(await call("/v1/play", { method: "POST", headers: { ...json, ...ip }, body }), "PLAY_PER_IP");
    // A member behind the same address (carrier-grade NAT) still plays: its plays are counted by its own object.
    expect((await pressPlay(await memberToken("basic"), { titleId: "limits-ip-play-title" }, GEO.lumenNyc, ip)).status).toBe(200);
  });

  it("count every request per client IP in the isolate, in one-minute windows", () => {
    const minute = 60_000 * 29_000_000;
    for (let i = 0; i < 3; i++) enforceIsolateLimit("PLAY_PER_IP", "198.51.100.200", 3, minute + i);
    let refused: unknown;
    try {
      enforceIsolateLimit("PLAY_PER_IP", "198.51.100.200", 3, minute + 59_000);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect((refused as ApiError).headers?.["Retry-After"]).toBe("1");
    // Another address, and the next minute, start from zero.
    expect(() => enforceIsolateLimit("PLAY_PER_IP", "198.51.100.201", 3, minute + 59_000)).not.toThrow();
    expect(() => enforceIsolateLimit("PLAY_PER_IP", "198.51.100.200", 3, minute + 60_000)).not.toThrow();
  });

  it("trip on event batches per member", async () => {
    const token = await memberToken("basic", "limits-reporter");
    const send = () =>
      call("/v1/events", { method: "POST", headers: { ...json, Authorization: `Bearer ${token}`, "CF-Connecting-IP": "203.0.113.120" }, body: "{}" });
    const { allowed, res } = await until429(send, 300);
    expect(allowed).toBe(240);
    await expectLimited(res, "EVENTS_PER_MEMBER");
  });

  it("trip on steering polls per session", async () => {
    await publishTitle("limits-title");
    expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-2", titleIds: ["limits-title"] }])).status).toBe(200);
    const p = (await (await pressPlay(await memberToken("premium", "limits-steering"), { titleId: "limits-title" }, GEO.lumenNyc)).json()) as PlayResponse;
    const send = () => call(p.steering.server, { headers: { "CF-Connecting-IP": "203.0.113.130" } });
    const { allowed, res } = await until429(send, 200);
    expect(allowed).toBe(120);
    await expectLimited(res, "STEERING_PER_SESSION");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });

  it("trip on steering tokens to verify per client IP, while sessions the isolate already verified keep answering", async () => {
    await publishTitle("limits-ip-title");
    expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-2", titleIds: ["limits-ip-title"] }])).status).toBe(200);
    const session = async (member: string) =>
      ((await (await pressPlay(await memberToken("premium", member), { titleId: "limits-ip-title" }, GEO.lumenNyc)).json()) as PlayResponse).steering.server;
    const ip = { "CF-Connecting-IP": "203.0.113.140" };
    const known = await session("limits-ip-known");
    const fresh = await session("limits-ip-fresh");
    // The known session's verification counts against the IP too: it and the flood share one window
    // (CI once waited for a fresh window between them, and the flood got 50).
    await inFirstHalfOfWindow();
    expect((await call(known, { headers: ip })).status).toBe(200);
    // A forged token is new to the isolate: it costs a verification, so it counts against the IP
    // (vitest.config.ts lowers this binding's limit to 50 so the flood is short).
    let n = 0;
    const { allowed, res } = await until429(() => call(`/v1/steering/s1.k1.e30.forged${n++}/limits-ip-title/steering.json`, { headers: ip }), 100, true);
    expect(allowed).toBe(49);
    await expectLimited(res, "STEERING_PER_IP");
    // The session this isolate verified before the flood still answers; a session it has not seen waits.
    expect((await call(known, { headers: ip })).status).toBe(200);
    await expectLimited(await call(fresh, { headers: ip }), "STEERING_PER_IP");
  });
});
