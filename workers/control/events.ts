import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { eventsRequestSchema } from "../../shared/events";
import { ApiError } from "../shared/errors";
import { findSite } from "../shared/topology";
import { recordClientReport } from "../shared/site-link";
import { sessionLog } from "./session-log";
import { signingKey } from "../shared/signing-keys";
import { requireMember, type MemberVars } from "./member-auth";
import { validationHook } from "./validation";
import { BODY_LIMITS, limitBody, limitByIp, limitByMember, rateLimited } from "./limits";
import { verifySessionToken } from "./session-token";
import { releaseStream, touchStream } from "./member-streams";
import { LAST_BATCH_GRACE_S } from "./session-ttl";

/**
 * The site of an OCA a client reports failing it: only an OCA of the session's own signed pathways
 * ("site/oca"), and never the origin pathway, which has no site to tell.
 */
export function reportedSite(pathways: readonly string[], ocaId: string): string | undefined {
  const pathway = pathways.find((p) => p.endsWith(`/${ocaId}`));
  const siteId = pathway?.slice(0, pathway.length - ocaId.length - 1);
  return siteId && findSite(siteId) ? siteId : undefined;
}

/**
 * POST /v1/events: play and QoE events of a session, stored once per batch id at the session's home
 * site (its Durable Object), where reported bytes count in the viewing history only within what the
 * session could have watched. The session is the signed one of the play response: no database is
 * read or written on this path.
 */
export const events = new Hono<MemberVars>();

/** A stop whose release did not reach the member's object: sent again, the slot is freed then. */
const streamsUnreleased = () =>
  new ApiError(503, "streams_unavailable", "the stop could not reach the member's streams; send the batch again", undefined, { "Retry-After": "1" });

events.post(
  "/",
  limitByIp("EVENTS_PER_IP"),
  limitBody(BODY_LIMITS.events),
  requireMember,
  limitByMember("EVENTS_PER_MEMBER"),
  zValidator("json", eventsRequestSchema, validationHook),
  async (c) => {
    const { sessionId, sessionToken, batchId, events: list } = c.req.valid("json");
    const nowS = Math.floor(Date.now() / 1000);
    // A session that expired a moment ago may still report its last batch (a tab closed at the end).
    const verdict = await verifySessionToken(signingKey(c.env).ring, sessionToken, nowS - LAST_BATCH_GRACE_S);
    if (!verdict.ok && verdict.reason !== "expired") throw new ApiError(403, "forbidden", `session token rejected: ${verdict.reason}`);
    const claims = verdict.ok ? verdict.claims : null;
    if (!claims) throw new ApiError(410, "session_expired", "this session has expired; press play again");
    const ended = claims.exp <= nowS;
    if (claims.sid !== sessionId) throw new ApiError(403, "forbidden", "the session token is for another session");
    if (claims.mid !== c.get("member").id) throw new ApiError(403, "forbidden", "this session belongs to another member");
    // A stop frees the member's slot at once, whatever becomes of the batch (its home site gone from the
    // topology included): asked beside the shard, not behind its answer (a client's last batch, sent as
    // its page closes, is seldom sent again).
    const stream = { titleId: claims.tid, expiresAt: claims.exp * 1000 };
    const released = list.some((e) => e.type === "stop") ? releaseStream(c.env, claims.mid, sessionId, stream) : null;
    const home = findSite(claims.home);
    if (!home) {
      if (released && !(await released)) throw streamsUnreleased();
      throw new ApiError(404, "unknown_session", "the session's home site no longer exists");
    }
    let r: Awaited<ReturnType<ReturnType<typeof sessionLog>["recordEvents"]>>;
    try {
      r = await sessionLog(c.env, home.id, sessionId).recordEvents({
        session: { sessionId, titleId: claims.tid, startedAt: claims.at, estBytes: claims.est, topBps: claims.top },
        batchId,
        events: list,
        now: Date.now(),
      });
    } catch (err) {
      await released;
      console.error("record events", err);
      throw new ApiError(503, "events_unavailable", "the session's events could not be stored; send the batch again", undefined, { "Retry-After": "5" });
    }
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    // A client's report of an OCA failing it (an error on it, a switch away from it) is a health signal
    // for that OCA's site: only OCAs of the session's own signed list, counted once per member (the site
    // counts distinct members, so one account's many sessions cannot degrade an OCA on their own).
    // A duplicate sends them too: its first try may have been stored and then failed before it sent them
    // (its answer lost), and a member's report sent again is the same one report.
    if (!r.over) {
      for (const e of list) {
        const ocaId = e.type === "oca_switch" ? e.fromOcaId : e.type === "error" ? e.ocaId : undefined;
        const siteId = ocaId ? reportedSite(claims.pw, ocaId) : undefined;
        if (siteId) recordClientReport(c.env, siteId, ocaId!, claims.mid, sessionId, waitUntil);
      }
    }
    // A stop's release (above) is answered before the request is; any other batch is activity that keeps the slot.
    // A release that did not reach the member's object is a 503: the client sends the batch again (counted
    // once, its id kept), and the release with it, rather than leave the slot held until the silence.
    if (released && !(await released)) throw streamsUnreleased();
    if (!released && !ended) touchStream(c.env, claims.mid, sessionId, stream, waitUntil);
    // A session storing more than its age allows is refused its batch (its stop, above, still counts).
    if (r.over) throw rateLimited("EVENTS_PER_SESSION", 60);
    if (r.duplicate) return c.json({ accepted: 0, bytes: 0, duplicate: true }, 200);
    return c.json({ accepted: r.accepted, bytes: r.bytes }, 202);
  },
);
