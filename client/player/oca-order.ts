/**
 * Pure decisions shared by the stock-player adapters (Shaka Player, dash.js): which OCA a request
 * should go to first, where a request for a failed OCA goes instead, and which OCAs failed when a
 * request was answered by a later URI. The session stays the one arbiter of the ranking.
 */
import type { PlaySession } from "../session";
import type { OcaEntry, SteeringManifest } from "../types";

/** True while the session keeps `ocaId` in the penalty box for a failed request or a throughput collapse. */
export function penaltyBoxed(session: PlaySession, ocaId: string): boolean {
  const ex = session.selector.exclusion(ocaId, session.now());
  return ex === "failed" || ex === "collapse";
}

/** HTTP statuses that say "this OCA, not this request" (as the hls.js hook counts them); 0 is left out: aborts look the same. */
export const isOcaFailureStatus = (status: number): boolean => status === 404 || status === 429 || status >= 500;

/** HTTP statuses that refuse the request itself (401, 403, 409, 410, ...): failing over cannot help, the session stops. */
export const isRefusalStatus = (status: number): boolean => status >= 400 && status < 500 && !isOcaFailureStatus(status);

/** A refusal's body as a player hands it over (text, or bytes for segments), for the API's error code in it. */
export function bodyText(data: unknown): string {
  if (typeof data === "string") return data.slice(0, 4096);
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data.slice(0, 4096));
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, Math.min(data.byteLength, 4096)));
  return "";
}

/**
 * A steering manifest a player loaded, handed back with the session's order (current OCA first, then
 * its merged ranking of the server's order, probes and penalties), so the player follows the session.
 */
export function inSessionOrder(session: PlaySession, manifest: SteeringManifest): SteeringManifest {
  return { ...manifest, "PATHWAY-PRIORITY": session.pathwayPriority() };
}

/** A steering manifest as a player hands it to its hooks (parsed JSON, text or bytes), or null when it is not one. */
export function steeringAnswer(data: unknown): SteeringManifest | null {
  try {
    const json =
      typeof data === "string" ? JSON.parse(data) : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? JSON.parse(new TextDecoder().decode(data)) : data;
    return json && typeof json === "object" && (json as SteeringManifest).VERSION === 1 ? (json as SteeringManifest) : null;
  } catch {
    return null;
  }
}

/** `manifest` in the form the player handed `original` over (parsed JSON, text, or bytes as an ArrayBuffer). */
export function steeringAnswerAs(original: unknown, manifest: SteeringManifest): unknown {
  if (typeof original === "string") return JSON.stringify(manifest);
  if (original instanceof ArrayBuffer || ArrayBuffer.isView(original)) return new TextEncoder().encode(JSON.stringify(manifest)).buffer;
  return manifest;
}

/** The session's order of its OCAs: the current one, then its ranking, then the rest; OCAs in the penalty box last. */
export function ocaOrder(session: PlaySession): string[] {
  const prio = session.pathwayPriority();
  const rest = [...session.ocas].sort((a, b) => a.rank - b.rank).map((o) => o.ocaId);
  const all = [...new Set([...prio, ...rest])];
  return [...all.filter((id) => !penaltyBoxed(session, id)), ...all.filter((id) => penaltyBoxed(session, id))];
}

/**
 * A request's URIs in the session's order. URIs on the session's OCAs are sorted by `ocaOrder`, and
 * the same file is added on every session OCA the list lacks (same token: `urlOn`), so a player
 * that walks its URI list on failure can reach all of them. URIs on no OCA of the session keep
 * their order after those. A list with no URI on a session OCA comes back unchanged.
 */
export function rankedUris(session: PlaySession, uris: readonly string[]): string[] {
  const onOca = uris.map((u) => ({ u, oca: session.ocaOfUrl(u) }));
  const template = onOca.find((x) => x.oca)?.u;
  if (template === undefined) return [...uris];
  const byOca = new Map<string, string>();
  for (const x of onOca) if (x.oca && !byOca.has(x.oca.ocaId)) byOca.set(x.oca.ocaId, x.u);
  const ranked = ocaOrder(session).map((id) => byOca.get(id) ?? session.urlOn(template, id));
  return [...ranked, ...onOca.filter((x) => !x.oca).map((x) => x.u)];
}

/**
 * The OCAs a request tried before the URI that answered it: each failed (a player walks its URI
 * list only on failure). `tried` is the URI list in the order the player used it. Duplicates and
 * the answering OCA itself are left out; an answer from a URI not in the list names none.
 */
export function ocasFailedBefore(session: PlaySession, tried: readonly string[], answeredUri: string): OcaEntry[] {
  const at = tried.indexOf(answeredUri);
  if (at <= 0) return [];
  const answering = session.ocaOfUrl(answeredUri)?.ocaId;
  const failed = new Map<string, OcaEntry>();
  for (const u of tried.slice(0, at)) {
    const oca = session.ocaOfUrl(u);
    if (oca && oca.ocaId !== answering) failed.set(oca.ocaId, oca);
  }
  return [...failed.values()];
}

/**
 * Where a player's request for a file should go now: off an OCA in the penalty box onto the session's
 * current one, and under the current session's token after a renewal (a player keeps the URLs its
 * manifests gave it, under the old session's token, which stopped and expires within the minute).
 */
export function sessionUrl(session: PlaySession, url: string): string {
  const oca = session.ocaOfUrl(url);
  if (!oca) return ontoSessionList(session, url);
  if (oca.ocaId !== session.current.ocaId && penaltyBoxed(session, oca.ocaId)) return session.urlOn(url, session.current.ocaId);
  return renewedUrl(session, url);
}

/** An OCA file's URL: /oca/{site}/{oca}/{token}/{title}/... */
const OCA_URL = /\/oca\/[^/]+\/[^/]+\/[^/]+\/[^/]+\//;

/**
 * A URL on an OCA of an earlier session's list that the renewed list lacks, as the same file on the
 * current OCA (under the current token); any other URL unchanged.
 */
export function ontoSessionList(session: PlaySession, url: string): string {
  return !session.ocaOfUrl(url) && OCA_URL.test(url) ? session.urlOn(url, session.current.ocaId) : url;
}

/** A file's URL on the same OCA under the current session's token (unchanged when it already is). */
export function renewedUrl(session: PlaySession, url: string): string {
  const oca = session.ocaOfUrl(url);
  return !oca || url.startsWith(oca.url) ? url : session.urlOn(url, oca.ocaId);
}

/** Where a player's Content Steering poll should go now: the current session's steering server (the player's query kept). */
export function sessionSteeringUrl(session: PlaySession, url: string): string {
  const server = session.play.steering?.server;
  if (!server || url.startsWith(server)) return url;
  const q = url.indexOf("?");
  return server + (q >= 0 ? url.slice(q) : "");
}

/** A URL's path below its OCA's base, without a query such as CMCD's (for failure reasons: "http_503 video/v1/seg-00003.m4s"). */
export function pathOnOca(session: PlaySession, url: string): string {
  const oca = session.ocaOfUrl(url);
  const bare = url.split("?")[0];
  return oca && bare.startsWith(oca.url) ? bare.slice(oca.url.length) : bare;
}
