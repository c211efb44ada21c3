import type { HlsConfig, Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from "hls.js";
import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import type { SdkError } from "../client/errors";
import { SessionEvents } from "../client/events";
import { PlaySession } from "../client/session";
import { createSdkLoader } from "../client/player/hls-hook";
import { fakeOca, fakePlay } from "./client-fixtures";

// The hls.js helper's loader, driven with a scripted stand-in for the app's own loader: what is
// under test is how it composes (public Loader interface only, one fresh inner loader per attempt,
// one stats object for hls.js), not the network. Chromium plays through it in test/e2e.

const play = fakePlay(["a", "b"]);
const client = {
  fetch: async () => {
    throw new Error("unused");
  },
  sendEvents: async () => {},
} as unknown as VcdnClient;

const stats = (start: number, end: number, loaded: number): LoaderStats => ({
  aborted: false,
  loaded,
  retry: 0,
  total: loaded,
  chunkCount: 1,
  bwEstimate: 0,
  loading: { start, first: start + 5, end },
  parsing: { start: 0, end: 0 },
  buffering: { start: 0, first: 0, end: 0 },
});

/** The app's loader: public interface only. The first request to OCA "a" fails with 503; "b" answers. */
function scriptedBase() {
  const made: string[] = [];
  const Base = class implements Loader<LoaderContext> {
    context: LoaderContext | null = null;
    stats = stats(0, 0, 0);
    constructor(_config: HlsConfig) {
      made.push("new");
    }
    load(context: LoaderContext, _config: LoaderConfiguration, cb: LoaderCallbacks<LoaderContext>): void {
      this.context = context;
      made.push(context.url);
      queueMicrotask(() => {
        if (context.url.includes("/a/")) cb.onError({ code: 503, text: "Service Unavailable" }, context, null, stats(100, 4_100, 0));
        else cb.onSuccess({ url: context.url, data: new ArrayBuffer(8) }, stats(4_200, 4_300, 500_000), context, null);
      });
    }
    abort(): void {}
    destroy(): void {
      made.push("destroy");
    }
    getResponseHeader(name: string): string | null {
      return name === "X-OCA" ? "s/b" : null;
    }
  };
  return { Base, made };
}

describe("the hls.js helper's loader, when an OCA gives no HTTP answer", () => {
  it("reports OCA_UNREACHABLE (no status), not an HTTP error of status 0, and moves to the next OCA", async () => {
    const session = new PlaySession(client, play, { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    const errors: SdkError[] = [];
    session.on(SessionEvents.ERROR, (e) => errors.push(e as SdkError));
    // hls.js's loaders say code 0 for a request that got no answer (refused, reset, offline).
    const Base = class implements Loader<LoaderContext> {
      context: LoaderContext | null = null;
      stats = stats(0, 0, 0);
      load(context: LoaderContext, _config: LoaderConfiguration, cb: LoaderCallbacks<LoaderContext>): void {
        this.context = context;
        queueMicrotask(() => {
          if (context.url.includes("/a/")) cb.onError({ code: 0, text: "" }, context, null, stats(100, 120, 0));
          else cb.onSuccess({ url: context.url, data: new ArrayBuffer(8) }, stats(200, 300, 8), context, null);
        });
      }
      abort(): void {}
      destroy(): void {}
    };
    const loader = new (createSdkLoader(session, Base, {}))({} as HlsConfig);
    const url = await new Promise<string>((resolve, reject) => {
      loader.load(
        { url: `${fakeOca("a", 1).url}video/v1/seg-00001.m4s`, responseType: "arraybuffer" } as LoaderContext,
        { loadPolicy: {} } as unknown as LoaderConfiguration,
        { onSuccess: (_r, _st, ctx) => resolve(ctx.url), onError: (e) => reject(new Error(`error ${e.code}`)), onTimeout: () => reject(new Error("timeout")) },
      );
    });
    expect(url).toContain("/b/");
    expect(errors.map((e) => [e.errorName, e.data.status])).toEqual([["OCA_UNREACHABLE", undefined]]);
    await session.close();
  });
});

describe("the hls.js helper's loader", () => {
  it("wraps the app's loader by composition: a failed request moves to the next OCA on a fresh inner loader, and hls.js's stats show only the attempt that answered", async () => {
    const session = new PlaySession(client, play, { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    const { Base, made } = scriptedBase();
    const served: string[] = [];
    const Sdk = createSdkLoader(session, Base, { onServed: (o, by) => served.push(`${o.ocaId} ${by}`) });
    const loader = new Sdk({} as HlsConfig);
    const held = loader.stats; // hls.js keeps this object (frag.stats = loader.stats)
    const done = new Promise<{ stats: LoaderStats; url: string }>((resolve, reject) => {
      loader.load(
        { url: `${fakeOca("a", 1).url}video/v1/seg-00001.m4s`, responseType: "arraybuffer" } as LoaderContext,
        { loadPolicy: {} } as unknown as LoaderConfiguration,
        {
          onSuccess: (_r, st, ctx) => resolve({ stats: st, url: ctx.url }),
          onError: (e) => reject(new Error(`error ${e.code}`)),
          onTimeout: () => reject(new Error("timeout")),
        },
      );
    });
    const { stats: got, url } = await done;
    expect(url).toBe(`${fakeOca("b", 2).url}video/v1/seg-00001.m4s`);
    expect(session.current.ocaId).toBe("b");
    // Two inner loaders, the first destroyed before the retry.
    expect(made).toEqual(["new", `${fakeOca("a", 1).url}video/v1/seg-00001.m4s`, "destroy", "new", `${fakeOca("b", 2).url}video/v1/seg-00001.m4s`]);
    // The stats hls.js holds are the ones it is handed, timed by the answering attempt alone (not from 100 ms).
    expect(got).toBe(held);
    expect(got.loading).toEqual({ start: 4_200, first: 4_205, end: 4_300 });
    expect(got.loaded).toBe(500_000);
    expect(served).toEqual(["b s/b"]);
    await session.close();
  });

  it("stops the session with HTTP_REFUSED and the API's reason when an OCA refuses (409 too_many_streams), before hls.js hears of it, and fails over nowhere", async () => {
    const session = new PlaySession(client, play, { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    const body = JSON.stringify({ error: { code: "too_many_streams", message: "this stream no longer counts against the plan's limit" } });
    const tried: string[] = [];
    // hls.js's XHR loader hands the XMLHttpRequest to onError; its response is the body (an ArrayBuffer for fragments).
    const Base = class implements Loader<LoaderContext> {
      context: LoaderContext | null = null;
      stats = stats(0, 0, 0);
      load(context: LoaderContext, _config: LoaderConfiguration, cb: LoaderCallbacks<LoaderContext>): void {
        tried.push(context.url);
        const xhr = { status: 409, response: new TextEncoder().encode(body).buffer };
        queueMicrotask(() => cb.onError({ code: 409, text: "Conflict" }, context, xhr, stats(100, 120, 0)));
      }
      abort(): void {}
      destroy(): void {}
    };
    const heard: string[] = [];
    const reasons: string[] = [];
    session.on(SessionEvents.ERROR, (e) => heard.push(`${e.code} ${e.fatal ? "fatal" : "recoverable"} ${e.data.status} ${e.data.apiCode}`));
    session.on(SessionEvents.ERROR, (e) => reasons.push(e.reason));
    const Sdk = createSdkLoader(session, Base);
    const url = `${fakeOca("a", 1).url}video/v1/seg-00002.m4s?CMCD=sid%3D%22x%22`;
    const hlsError = await new Promise<{ code: number; stoppedFirst: boolean }>((resolve, reject) =>
      new Sdk({} as HlsConfig).load({ url, responseType: "arraybuffer" } as LoaderContext, { loadPolicy: {} } as unknown as LoaderConfiguration, {
        onSuccess: () => reject(new Error("a refusal must not succeed")),
        onError: (e) => resolve({ code: e.code, stoppedFirst: heard.length > 0 }),
        onTimeout: () => reject(new Error("timeout")),
      }),
    );
    // hls.js still gets the error (it stops loading), after the session has said why.
    expect(hlsError).toEqual({ code: 409, stoppedFirst: true });
    expect(heard).toEqual(["3001 fatal 409 too_many_streams"]);
    // The QoE reason names the file, without the OCA's URL (it carries the token) or the query.
    expect(reasons).toEqual(["3001 HTTP_REFUSED: HTTP 409 on video/v1/seg-00002.m4s (too_many_streams)"]);
    expect(tried).toEqual([url]);
    expect(session.current.ocaId).toBe("a");
    await session.close();
  });

  it("stops the session on a refusal whose body it cannot read, with the status alone", async () => {
    const session = new PlaySession(client, play, { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    const errors: SdkError[] = [];
    session.on(SessionEvents.ERROR, (e) => errors.push(e));
    const Base = class implements Loader<LoaderContext> {
      context: LoaderContext | null = null;
      stats = stats(0, 0, 0);
      load(context: LoaderContext, _config: LoaderConfiguration, cb: LoaderCallbacks<LoaderContext>): void {
        queueMicrotask(() => cb.onError({ code: 403, text: "Forbidden" }, context, null, stats(100, 120, 0)));
      }
      abort(): void {}
      destroy(): void {}
    };
    const Sdk = createSdkLoader(session, Base);
    await new Promise<void>((resolve) =>
      new Sdk({} as HlsConfig).load(
        { url: `${fakeOca("b", 2).url}video/v1/seg-00002.m4s`, responseType: "arraybuffer" } as LoaderContext,
        { loadPolicy: {} } as unknown as LoaderConfiguration,
        { onSuccess: () => resolve(), onError: () => resolve(), onTimeout: () => resolve() },
      ),
    );
    expect(errors.map((e) => [e.errorName, e.data.status, e.data.apiCode, e.data.ocaId])).toEqual([["HTTP_REFUSED", 403, undefined, "b"]]);
    await session.close();
  });

  it("names a failed-over file without its query (CMCD) in the failover's reason", async () => {
    const session = new PlaySession(client, play, { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    const reasons: string[] = [];
    session.on(SessionEvents.FAILOVER, ({ reason }) => reasons.push(reason));
    const { Base } = scriptedBase();
    const Sdk = createSdkLoader(session, Base);
    await new Promise<void>((resolve, reject) =>
      new Sdk({} as HlsConfig).load(
        { url: `${fakeOca("a", 1).url}video/v1/seg-00003.m4s?CMCD=sid%3D%22x%22`, responseType: "arraybuffer" } as LoaderContext,
        { loadPolicy: {} } as unknown as LoaderConfiguration,
        { onSuccess: () => resolve(), onError: (e) => reject(new Error(`error ${e.code}`)), onTimeout: () => reject(new Error("timeout")) },
      ),
    );
    expect(reasons).toEqual(["http_503 video/v1/seg-00003.m4s"]);
    await session.close();
  });

  it("sends hls.js's requests under the renewed session's token and steering server, as its playlists still name the old ones", async () => {
    const fresh = fakePlay(["a", "b"]);
    fresh.sessionId = "sess2";
    fresh.ocas = fresh.ocas.map((o) => ({ ...o, url: o.url.replace("/t/1/", "/t2/1/") }));
    fresh.steering = { server: "https://cdn.test/v1/steering/sess2", hls: "", dash: "" };
    const renewing = { ...client, requestPlay: async () => fresh } as unknown as VcdnClient;
    const session = new PlaySession(renewing, fakePlay(["a", "b"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    expect(await session.renew("token_expiring")).toBe(true);
    const asked: string[] = [];
    const Base = class implements Loader<LoaderContext> {
      context: LoaderContext | null = null;
      stats = stats(0, 0, 0);
      load(context: LoaderContext, _config: LoaderConfiguration, cb: LoaderCallbacks<LoaderContext>): void {
        asked.push(context.url);
        queueMicrotask(() => cb.onSuccess({ url: context.url, data: new ArrayBuffer(8) }, stats(0, 10, 8), context, null));
      }
      abort(): void {}
      destroy(): void {}
    };
    const Sdk = createSdkLoader(session, Base);
    const load = (url: string, type?: string) =>
      new Promise<void>((resolve, reject) =>
        new Sdk({} as HlsConfig).load(
          { url, responseType: "arraybuffer", ...(type ? { type } : {}) } as LoaderContext,
          { loadPolicy: {} } as unknown as LoaderConfiguration,
          {
            onSuccess: () => resolve(),
            onError: (e) => reject(new Error(String(e.code))),
            onTimeout: () => reject(new Error("timeout")),
          },
        ),
      );
    await load("https://cdn.test/oca/s/a/t/1/video/seg-00001.m4s");
    await load("https://cdn.test/oca/s/b/t2/1/video/seg-00002.m4s");
    await load("https://cdn.test/v1/steering/sess?_HLS_pathway=a&_HLS_throughput=5000000", "steering-manifest");
    expect(asked).toEqual([
      "https://cdn.test/oca/s/a/t2/1/video/seg-00001.m4s",
      "https://cdn.test/oca/s/b/t2/1/video/seg-00002.m4s",
      "https://cdn.test/v1/steering/sess2?_HLS_pathway=a&_HLS_throughput=5000000",
    ]);
    await session.close();
  });
});
