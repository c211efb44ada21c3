import { appendCmcdQuery, CMCD_V1, type Cmcd, toCmcdHeaders } from "@svta/cml-cmcd";
import type { PlaySession } from "./session";

/**
 * Common Media Client Data (CTA-5004) on the SDK's own requests, encoded by @svta/cml-cmcd (the
 * library hls.js and dash.js use for theirs). The OCAs read it and the session's home site keeps it
 * beside the QoE events, so a CDN log line says which session, title, rung and buffer a request
 * served. Version 1 keys: every CDN and analytics tool reads them.
 */

/** How CMCD travels: the `CMCD` query argument (no CORS preflight) or the four `CMCD-*` headers. */
export type CmcdMode = "query" | "headers";

/** What a request fetches, as CMCD's object type says it. */
export type CmcdObject = "manifest" | "video" | "audio" | "init";

/** What the player knows about one request beyond the session. */
export interface CmcdRequestInfo {
  object: CmcdObject;
  /** Encoded bitrate of the rendition (bits/s): the playlist's average when it declares one (CTA-5004 `br`). */
  bitrateBps?: number;
  /** The highest rung the player may play, counted as `bitrateBps` is (bits/s); else the play response's top rendition. */
  topBitrateBps?: number;
  /** Media duration of the object (s). */
  durationS?: number;
  /** Media buffered ahead of the playhead when the request is made (s). */
  bufferS?: number;
  /** Requested while starting up or rebuffering. */
  startup?: boolean;
  /** The buffer ran dry since the previous media request. */
  starved?: boolean;
}

const OBJECT_TYPE = { manifest: "m", video: "v", audio: "a", init: "i" } as const;
/** CTA-5004 asks for buffer length and throughput rounded (to 100 ms and 100 kbps): they are signals, not fingerprints. */
const round100 = (n: number) => Math.round(n / 100) * 100;
/** `n` when it is a finite number > 0 (a bitrate, a duration), else undefined: CMCD's integers are never negative, NaN or infinite. */
const positive = (n: number | undefined): number | undefined => (typeof n === "number" && Number.isFinite(n) && n > 0 ? n : undefined);

/** The CMCD keys of one request of a session: session and content ids, object type, bitrate, buffer, deadline, throughput, start-up and stall flags. */
export function cmcdData(session: PlaySession, info: CmcdRequestInfo): Cmcd {
  const est = positive(session.throughput.estimate() ?? undefined);
  // `tb` and `br` must be the same measure, or the top rung's br never equals tb in a CDN's analytics.
  const top = positive(info.topBitrateBps ?? Math.max(0, ...session.play.renditions.video.map((r) => positive(r.bandwidth) ?? 0)));
  const media = info.object === "video" || info.object === "audio";
  const data: Cmcd = { sid: session.sessionId, cid: session.play.titleId, sf: "h", st: "v", ot: OBJECT_TYPE[info.object] };
  const br = positive(info.bitrateBps);
  // Integer kbps (br, tb), integer ms (d): a value that rounds to 0 says nothing and is left out.
  if (br !== undefined && Math.round(br / 1000) > 0) data.br = [Math.round(br / 1000)];
  if (top !== undefined && Math.round(top / 1000) > 0 && info.object === "video") data.tb = [Math.round(top / 1000)];
  const durationS = positive(info.durationS);
  if (durationS !== undefined && Math.round(durationS * 1000) > 0) data.d = Math.round(durationS * 1000);
  // An empty buffer is 0 ms; one that is not a number says nothing.
  const bufferMs = info.bufferS !== undefined && Number.isFinite(info.bufferS) ? round100(Math.max(0, info.bufferS) * 1000) : undefined;
  if (media && bufferMs !== undefined) {
    data.bl = [bufferMs];
    // The deadline: how long until this object is needed, at normal speed the buffer's length.
    data.dl = bufferMs;
  }
  if (est !== undefined) data.mtp = [round100(est / 1000)];
  if (info.startup) data.su = true;
  if (info.starved) data.bs = true;
  return data;
}

/** A request with CMCD attached: the URL with the query argument, or headers to send with it. */
export function withCmcd(url: string, data: Cmcd, mode: CmcdMode): { url: string; headers: Record<string, string> } {
  if (mode === "headers") return { url, headers: toCmcdHeaders(data, { version: CMCD_V1 }) };
  return { url: appendCmcdQuery(url, data, { version: CMCD_V1 }), headers: {} };
}
