import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SessionEvents } from "../client/events";
import type { SdkError } from "../client/errors";
import { type DashRequestLike, attachDashjs } from "../client/player/dash-adapter";
import { ocaOrder, ocasFailedBefore, rankedUris, sessionSteeringUrl, sessionUrl } from "../client/player/oca-order";
import { type ShakaRequestLike, ShakaRequestType, attachShaka, shakaFailureReason } from "../client/player/shaka-adapter";
import { PlaySession } from "../client/session";
import { fakeDashRegistries, fakeOca, fakePlay, fakeShakaPlayer } from "./client-fixtures";

// The Shaka and dash.js adapters' decisions, on a real PlaySession. Neither player runs in workerd
// (no DOM, no MSE): the players' filter and interceptor registries are stand-ins that call the
// adapter the way the players do (Shaka: one filter call per try, tries walk `uris` by index;
// dash.js: one interceptor call per try). Real Shaka and dash.js play through them in
// test/e2e/sdk-adapters-chromium.test.ts.

const client = {
  fetch: async () => {
    throw new Error("unused");
  },
  sendEvents: async () => {},
} as unknown as VcdnClient;

/** The edge's refusal of a stream whose slot another screen holds. */
const REFUSAL = JSON.stringify({
  error: { code: "too_many_streams", message: "this stream stopped or the member's other streams hold every slot of the plan; press play again" },
});

const seg = (ocaId: string, file = "video/v1/seg-00001.m4s") => `${fakeOca(ocaId, 1).url}${file}`;

function newSession(ids = ["a", "b", "c"]) {
  const session = new PlaySession(client, fakePlay(ids), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
  const failovers: string[] = [];
  const errors: SdkError[] = [];
  session.on(SessionEvents.FAILOVER, ({ from, to, reason }) => failovers.push(`${from.ocaId}->${to.ocaId} ${reason}`));
  session.on(SessionEvents.ERROR, (e) => errors.push(e));
  return { session, failovers, errors };
}

/** A session renewed once (its token within a minute of expiry): the new play's OCA URLs carry token "t2", its steering server is sess2's. */
async function renewedSession(ids = ["a", "b", "c"], renewedIds = ids) {
  const fresh = fakePlay(renewedIds);
  fresh.sessionId = "sess2";
  fresh.ocas = fresh.ocas.map((o) => ({ ...o, url: o.url.replace("/t/1/", "/t2/1/") }));
  fresh.steering = { server: "https://cdn.test/v1/steering/sess2", hls: "", dash: "" };
  const renewing = { ...client, requestPlay: async () => fresh } as unknown as VcdnClient;
  const session = new PlaySession(renewing, fakePlay(ids), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
  expect(await session.renew("token_expiring")).toBe(true);
  return session;
}
const renewed = (url: string) => url.replace("/t/1/", "/t2/1/");
const OLD_STEERING = "https://cdn.test/v1/steering/sess?_HLS_pathway=a";

describe("the adapters' OCA order", () => {
  it("orders a request's URIs by the session's ranking, adds the OCAs the list lacks, and puts a failed OCA last", async () => {
    const { session } = newSession();
    // A player that only knows two pathways, listed in its own (wrong) order, plus a non-OCA mirror.
    const uris = [seg("b"), "https://mirror.test/seg-00001.m4s", seg("a")];
    expect(rankedUris(session, uris)).toEqual([seg("a"), seg("b"), seg("c"), "https://mirror.test/seg-00001.m4s"]);
    session.reportFailure("a", "http_503 video/v1/seg-00001.m4s");
    expect(session.current.ocaId).toBe("b");
    expect(ocaOrder(session)).toEqual(["b", "c", "a"]);
    expect(rankedUris(session, uris)).toEqual([seg("b"), seg("c"), seg("a"), "https://mirror.test/seg-00001.m4s"]);
    // A list with nothing on the session's OCAs (the steered MPD itself, a licence server) is left alone.
    expect(rankedUris(session, ["https://cdn.test/v1/steer/x/manifest.mpd"])).toEqual(["https://cdn.test/v1/steer/x/manifest.mpd"]);
    await session.close();
  });

  it("moves a URL off an OCA in the penalty box to the current OCA, and leaves every other URL alone", async () => {
    const { session } = newSession();
    expect(sessionUrl(session, seg("a"))).toBe(seg("a"));
    session.reportFailure("a", "http_503 video/v1/seg-00001.m4s");
    expect(sessionUrl(session, seg("a", "audio/en/init.mp4"))).toBe(seg("b", "audio/en/init.mp4"));
    // Not in the penalty box: dash.js's own choice of BaseURL stands.
    expect(sessionUrl(session, seg("c"))).toBe(seg("c"));
    expect(sessionUrl(session, "https://elsewhere.test/x.m4s")).toBe("https://elsewhere.test/x.m4s");
    expect(sessionSteeringUrl(session, OLD_STEERING)).toBe(OLD_STEERING);
    await session.close();
  });

  it("puts a player's URLs of the old session under the renewed one: its files under the new token, its steering polls on the new server", async () => {
    const session = await renewedSession();
    expect(sessionUrl(session, seg("b"))).toBe(renewed(seg("b")));
    expect(sessionUrl(session, renewed(seg("c")))).toBe(renewed(seg("c")));
    expect(sessionSteeringUrl(session, OLD_STEERING)).toBe("https://cdn.test/v1/steering/sess2?_HLS_pathway=a");
    expect(sessionSteeringUrl(session, "https://cdn.test/v1/steering/sess2")).toBe("https://cdn.test/v1/steering/sess2");
    await session.close();
  });

  it("infers the failed OCAs from the URI that answered: every OCA tried before it, none when the first answered", async () => {
    const { session } = newSession();
    const tried = [seg("a"), seg("b"), seg("c")];
    expect(ocasFailedBefore(session, tried, seg("c")).map((o) => o.ocaId)).toEqual(["a", "b"]);
    expect(ocasFailedBefore(session, tried, seg("a"))).toEqual([]);
    expect(ocasFailedBefore(session, tried, "https://elsewhere.test/x.m4s")).toEqual([]);
    await session.close();
  });
});

describe("the Shaka Player adapter", () => {
  it("sends the first try to the session's OCA, reports a 503 before the next try goes out, and counts the answer once", async () => {
    const { session, failovers, errors } = newSession();
    const shaka = fakeShakaPlayer();
    const unhook = attachShaka(shaka.player, session);
    // Shaka's list from the steered MPD after its host ban: the default pathway alone.
    const request: ShakaRequestLike = { uris: [seg("a")], attempt: 0 };
    expect(shaka.tryOnce(ShakaRequestType.SEGMENT, request)).toBe(seg("a"));
    expect(request.uris).toEqual([seg("a"), seg("b"), seg("c")]);

    // "a" answers 503: Shaka fires `retry`, bumps the attempt and filters again before the next try.
    expect(shaka.retry(seg("a"), 503)).toBe(false);
    request.attempt = 1;
    expect(shaka.tryOnce(ShakaRequestType.SEGMENT, request)).toBe(seg("b"));
    expect(session.current.ocaId).toBe("b");
    expect(failovers).toEqual(["a->b http_503 video/v1/seg-00001.m4s"]);
    expect(errors.map((e) => `${e.errorName} ${e.data.status}`)).toEqual(["OCA_HTTP_ERROR 503"]);
    // The later try keeps the order Shaka indexes into.
    expect(request.uris).toEqual([seg("a"), seg("b"), seg("c")]);

    // "b" answers: "a" is not reported twice; the download feeds the session's throughput.
    shaka.respond(ShakaRequestType.SEGMENT, request, seg("b"), 500_000, 1_000);
    expect(errors).toHaveLength(1);
    expect(session.throughput.estimate()).toBeCloseTo(4_000_000, -5);

    // The next request starts on "b"; "a" is last.
    const next: ShakaRequestLike = { uris: [seg("a", "video/v1/seg-00002.m4s"), seg("b", "video/v1/seg-00002.m4s")], attempt: 0 };
    shaka.tryOnce(ShakaRequestType.SEGMENT, next);
    expect(next.uris.map((u) => session.ocaOfUrl(u)!.ocaId)).toEqual(["b", "c", "a"]);

    unhook();
    expect([shaka.requestFilters.size, shaka.responseFilters.size, shaka.retryListeners.size, shaka.playerErrorListeners.size]).toEqual([0, 0, 0, 0]);
    await session.close();
  });

  it("stops the session with HTTP_REFUSED and the API's code when an OCA refuses a segment (409 too_many_streams), cancels Shaka's tries of the other OCAs, and counts any it makes as no failover", async () => {
    const { session, failovers, errors } = newSession();
    const shaka = fakeShakaPlayer();
    attachShaka(shaka.player, session);
    const request: ShakaRequestLike = { uris: [seg("a")], attempt: 0 };
    shaka.tryOnce(ShakaRequestType.SEGMENT, request);
    // Shaka treats a 409 as recoverable: it fires `retry` with the refusal's text. The adapter cancels
    // the next try (the other OCAs would refuse it alike), and any try Shaka still makes is no failover.
    expect(shaka.retry(`${seg("a")}?CMCD=sid%3D%22s%22`, 409, REFUSAL)).toBe(true);
    request.attempt = 1;
    shaka.tryOnce(ShakaRequestType.SEGMENT, request);
    expect(shaka.retry(seg("b"), 409, REFUSAL)).toBe(true);
    // The session has stopped: any later failure's try is cancelled too, and charges no OCA.
    expect(shaka.retry(seg("c", "video/v1/seg-00002.m4s"), 503)).toBe(true);
    expect(errors.map((e) => [e.errorName, e.fatal, e.data.status, e.data.apiCode, e.data.ocaId])).toEqual([
      ["HTTP_REFUSED", true, 409, "too_many_streams", "a"],
    ]);
    expect(errors[0].reason).toBe("3001 HTTP_REFUSED: HTTP 409 on video/v1/seg-00001.m4s (too_many_streams)");
    expect(failovers).toEqual([]);
    expect(session.current.ocaId).toBe("a");
  });

  it("stops the session with HTTP_REFUSED when Shaka raises an OCA's 403 as its own critical error, without a retry", async () => {
    const { session, failovers, errors } = newSession();
    const shaka = fakeShakaPlayer();
    attachShaka(shaka.player, session);
    const forbidden = JSON.stringify({ error: { code: "forbidden", message: "token rejected: expired" } });
    shaka.playerError(seg("b", "video/v1/seg-00004.m4s"), 403, forbidden);
    // A second critical error (Shaka's next stream) is not a second refusal.
    shaka.playerError(seg("a", "audio/en/seg-00004.m4s"), 403, forbidden);
    expect(errors.map((e) => [e.errorName, e.fatal, e.data.status, e.data.apiCode, e.data.ocaId])).toEqual([["HTTP_REFUSED", true, 403, "forbidden", "b"]]);
    expect(errors[0].reason).toBe("3001 HTTP_REFUSED: HTTP 403 on video/v1/seg-00004.m4s (forbidden)");
    expect(failovers).toEqual([]);
  });

  it("leaves the player's other critical errors to the app: a decode error, a 503, a URL that is no OCA's", async () => {
    const { session, errors } = newSession();
    const shaka = fakeShakaPlayer();
    attachShaka(shaka.player, session);
    for (const l of shaka.playerErrorListeners) l({ detail: { code: 3016, data: [] } });
    shaka.playerError(seg("a"), 503, "");
    shaka.playerError("https://licence.test/widevine", 403, "{}");
    expect(errors).toEqual([]);
    await session.close();
  });

  it("reports the OCAs before the one that answered when no try was seen failing, and leaves other request types alone", async () => {
    const { session, failovers } = newSession();
    const shaka = fakeShakaPlayer();
    attachShaka(shaka.player, session);
    const request: ShakaRequestLike = { uris: [seg("a"), seg("b"), seg("c")], attempt: 0 };
    shaka.tryOnce(ShakaRequestType.SEGMENT, request);
    // Answered by the third URI (the tries in between were not filtered by this adapter).
    shaka.respond(ShakaRequestType.SEGMENT, request, seg("c"), 1000, 10);
    expect(session.selector.exclusion("a", session.now())).toBe("failed");
    expect(session.selector.exclusion("b", session.now())).toBe("failed");
    expect(session.current.ocaId).toBe("c");
    // Reported in the order tried: the session moved on from each in turn.
    expect(failovers).toEqual(["a->b network_error video/v1/seg-00001.m4s", "b->c network_error video/v1/seg-00001.m4s"]);

    // A licence request (type 2) keeps its URIs as they were.
    const licence: ShakaRequestLike = { uris: [seg("a", "licence")], attempt: 0 };
    shaka.tryOnce(2, licence);
    expect(licence.uris).toEqual([seg("a", "licence")]);
    await session.close();
  });

  it("sends Shaka's tries under the renewed session's token, and its steering polls to the renewed session's server", async () => {
    const session = await renewedSession();
    const shaka = fakeShakaPlayer();
    attachShaka(shaka.player, session);
    expect(shaka.tryOnce(ShakaRequestType.SEGMENT, { uris: [seg("a"), seg("b")] })).toBe(renewed(seg("a")));
    const steer = { uris: [OLD_STEERING] };
    shaka.tryOnce(ShakaRequestType.CONTENT_STEERING, steer);
    expect(steer.uris).toEqual(["https://cdn.test/v1/steering/sess2?_HLS_pathway=a"]);
    await session.close();
  });

  it("sends Shaka's tries of files on OCAs the renewed list lacks to the renewed session's OCAs", async () => {
    const session = await renewedSession(["a", "b", "c"], ["d", "e"]);
    const shaka = fakeShakaPlayer();
    attachShaka(shaka.player, session);
    expect(shaka.tryOnce(ShakaRequestType.SEGMENT, { uris: [seg("a"), seg("b")] })).toBe(renewed(seg("d")));
    await session.close();
  });

  it("names a retry's cause from Shaka's error", () => {
    expect(shakaFailureReason({ code: 1001, data: ["u", 404] })).toBe("http_404");
    expect(shakaFailureReason({ code: 1003, data: ["u"] })).toBe("timeout");
    expect(shakaFailureReason({ code: 1002, data: ["u"] })).toBe("network_error");
  });
});

/** dash.js's interceptor registries, run the way its HTTPLoader runs them around each try. */
function dashPlayer() {
  const { player, requests, responses } = fakeDashRegistries();
  /** One try: the request interceptors, then "the network" answers `status` from whatever URL they left. */
  const tryOnce = async (url: string, type: string, answer: (url: string) => number, errorBody?: ArrayBuffer) => {
    let req: DashRequestLike = { url, customData: { request: { type } } };
    for (const i of requests) req = await i(req);
    const status = answer(req.url);
    let res = { request: req, status, data: status === 200 ? new ArrayBuffer(250_000) : errorBody, resourceTiming: { duration: 500 } };
    for (const i of responses) res = (await i(res)) as typeof res;
    return res;
  };
  return { player, tryOnce, requests, responses };
}

describe("the dash.js adapter", () => {
  it("reports a segment's 503 to the session, and sends dash.js's retry of it to the session's new OCA", async () => {
    const { session, failovers } = newSession();
    const dash = dashPlayer();
    const unhook = attachDashjs(dash.player, session);
    const aDown = (url: string) => (session.ocaOfUrl(url)!.ocaId === "a" ? 503 : 200);

    const first = await dash.tryOnce(seg("a"), "MediaSegment", aDown);
    expect(first.status).toBe(503);
    expect(failovers).toEqual(["a->b http_503 video/v1/seg-00001.m4s"]);

    // dash.js retries the same URL (its BaseURL is still "a"): it goes to "b" and is answered.
    const retry = await dash.tryOnce(seg("a"), "MediaSegment", aDown);
    expect(retry.request.url).toBe(seg("b"));
    expect(retry.status).toBe(200);
    expect(session.throughput.estimate()).toBeCloseTo(4_000_000, -5);

    // The MPD and other non-segment requests are not touched, even on a failed OCA.
    const mpd = await dash.tryOnce(seg("a", "manifest.mpd"), "MPD", () => 200);
    expect(mpd.request.url).toBe(seg("a", "manifest.mpd"));

    unhook();
    expect([dash.requests.size, dash.responses.size]).toEqual([0, 0]);
    await session.close();
  });

  it("stops the session with HTTP_REFUSED and the API's code when an OCA refuses a segment (409 too_many_streams), without a failover", async () => {
    const { session, failovers, errors } = newSession();
    const dash = dashPlayer();
    const detach = attachDashjs(dash.player, session);
    const res = await dash.tryOnce(seg("a"), "MediaSegment", () => 409, new TextEncoder().encode(REFUSAL).buffer as ArrayBuffer);
    expect(res.status).toBe(409);
    expect(errors.map((e) => [e.errorName, e.fatal, e.data.status, e.data.apiCode, e.data.ocaId])).toEqual([
      ["HTTP_REFUSED", true, 409, "too_many_streams", "a"],
    ]);
    expect(failovers).toEqual([]);
    // A 404 is the OCA's, not a refusal: it fails over (on a fresh session, once the first is detached:
    // a player takes one session at a time).
    const other = newSession();
    detach();
    attachDashjs(dash.player, other.session);
    await dash.tryOnce(seg("b"), "MediaSegment", () => 404);
    expect(other.errors.map((e) => e.errorName)).toEqual(["OCA_HTTP_ERROR"]);
    await other.session.close();
  });

  it("sends dash.js's segment requests under the renewed session's token, and its steering polls to the renewed session's server", async () => {
    const session = await renewedSession();
    const dash = dashPlayer();
    attachDashjs(dash.player, session);
    const asked: string[] = [];
    await dash.tryOnce(seg("a"), "MediaSegment", (url) => (asked.push(url), 200));
    await dash.tryOnce(OLD_STEERING, "ContentSteering", (url) => (asked.push(url), 200));
    expect(asked).toEqual([renewed(seg("a")), "https://cdn.test/v1/steering/sess2?_HLS_pathway=a"]);
    await session.close();
  });

  it("sends dash.js's requests for files on OCAs the renewed list lacks to the renewed session's current OCA", async () => {
    const session = await renewedSession(["a", "b", "c"], ["d", "e"]);
    const dash = dashPlayer();
    attachDashjs(dash.player, session);
    const asked: string[] = [];
    await dash.tryOnce(seg("b"), "MediaSegment", (url) => (asked.push(url), 200));
    expect(asked).toEqual([renewed(seg("d"))]);
    await session.close();
  });

  it("shows steering manifests dash.js loads to the session, which leaves an OCA steering dropped", async () => {
    const { session } = newSession();
    const dash = dashPlayer();
    attachDashjs(dash.player, session);
    const steering = { VERSION: 1, TTL: 5, "PATHWAY-PRIORITY": ["b", "c"] };
    let res = { request: { url: "https://cdn.test/steering.json", customData: { request: { type: "ContentSteering" } } }, status: 200, data: steering };
    for (const i of dash.responses) res = (await i(res)) as typeof res;
    expect(session.selector.serverPriority).toEqual(["b", "c"]);
    expect(session.current.ocaId).toBe("b");
    expect(session.switches.map((s) => s.reason)).toEqual(["steering"]);
    // dash.js gets the answer back in the session's order: it plays where the session is.
    expect(res.data["PATHWAY-PRIORITY"]).toEqual(session.pathwayPriority());
    expect(res.data["PATHWAY-PRIORITY"][0]).toBe("b");
    await session.close();
  });

  it("hands dash.js every steering answer in the session's order, in the form dash.js gave it (parsed, text or bytes)", async () => {
    const { session } = newSession();
    const dash = dashPlayer();
    attachDashjs(dash.player, session);
    // The session's probes and penalties are its own: the server still puts a failed "a" first, dash.js is told otherwise.
    session.reportFailure("a", "http_503 video/v1/seg-00001.m4s");
    const manifest = { VERSION: 1, TTL: 5, "RELOAD-URI": "/steer/next", "PATHWAY-PRIORITY": ["a", "b", "c"] };
    const forms: Array<[string, unknown, (d: unknown) => unknown]> = [
      ["parsed", manifest, (d) => d],
      ["text", JSON.stringify(manifest), (d) => JSON.parse(d as string)],
      ["bytes", new TextEncoder().encode(JSON.stringify(manifest)).buffer, (d) => JSON.parse(new TextDecoder().decode(d as ArrayBuffer))],
    ];
    for (const [form, data, parse] of forms) {
      let res = { request: { url: "https://cdn.test/steering.json", customData: { request: { type: "ContentSteering" } } }, status: 200, data };
      for (const i of dash.responses) res = (await i(res)) as typeof res;
      expect(typeof res.data, form).toBe(typeof data);
      const back = parse(res.data) as typeof manifest;
      expect(back["PATHWAY-PRIORITY"], form).toEqual(session.pathwayPriority());
      expect(back["PATHWAY-PRIORITY"][0], form).toBe(session.current.ocaId);
      expect(back["PATHWAY-PRIORITY"][0], form).not.toBe("a");
      expect({ ...back, "PATHWAY-PRIORITY": manifest["PATHWAY-PRIORITY"] }, form).toEqual(manifest);
    }
    // What is not a steering manifest goes back untouched.
    const junk = { request: { url: "https://cdn.test/steering.json", customData: { request: { type: "ContentSteering" } } }, status: 200, data: "not json" };
    let out = junk;
    for (const i of dash.responses) out = (await i(out)) as typeof out;
    expect(out).toBe(junk);
    await session.close();
  });
});

describe("the adapters' CMCD", () => {
  it("turns on the player's own CMCD keyed to the session, in the session's mode, and leaves it off when the session's is off", () => {
    const shakaConfigs: object[] = [];
    const dashSettings: object[] = [];
    const shaka = fakeShakaPlayer();
    const dash = dashPlayer();
    const withCmcd = (mode: "query" | "headers" | false) =>
      new PlaySession(client, fakePlay(["a", "b"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000, cmcd: mode });
    for (const mode of ["query", "headers", false] as const) {
      attachShaka({ ...shaka.player, configure: (c: object) => shakaConfigs.push(c) }, withCmcd(mode))();
      attachDashjs({ ...dash.player, updateSettings: (s: object) => dashSettings.push(s) }, withCmcd(mode))();
    }
    expect(shakaConfigs).toEqual([
      { cmcd: { enabled: true, sessionId: "sess", contentId: "t", useHeaders: false } },
      { cmcd: { enabled: true, sessionId: "sess", contentId: "t", useHeaders: true } },
    ]);
    expect(dashSettings).toEqual([
      { streaming: { cmcd: { enabled: true, sid: "sess", cid: "t", mode: "query" } } },
      { streaming: { cmcd: { enabled: true, sid: "sess", cid: "t", mode: "header" } } },
    ]);
  });
});

describe("the Shaka adapter with Shaka's CMCD on", () => {
  it("names a failed try's cause when Shaka's retry event names the URI with its CMCD query", () => {
    const { session, failovers } = newSession();
    const shaka = fakeShakaPlayer();
    attachShaka(shaka.player, session);
    const request: ShakaRequestLike = { uris: [seg("a"), seg("b"), seg("c")] };
    const first = shaka.tryOnce(ShakaRequestType.SEGMENT, request);
    shaka.retry(`${first}?CMCD=${encodeURIComponent('sid="sess",ot=v')}`, 503);
    shaka.tryOnce(ShakaRequestType.SEGMENT, { ...request, attempt: 1 });
    expect(failovers).toEqual(["a->b http_503 video/v1/seg-00001.m4s"]);
  });
});
