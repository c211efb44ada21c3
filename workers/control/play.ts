import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { ApiError } from "../shared/errors";
import { playRequestSchema, type PlayResponse } from "../../shared/play";
import { findSite, topology, type SiteSpec } from "../shared/topology";
import type { MissKind } from "../shared/site-view";
import { rendezvousOrder } from "../../fill/hash";
import { dayNumber } from "../../fill/day";
import { signUrlToken } from "../shared/url-token";
import { signingKey } from "../shared/signing-keys";
import { recordPlayAt } from "../shared/site-link";
import { checkLicence, codecFamily } from "./catalogue";
import { catalogueCache } from "./catalogue-cache";
import { sessionPathways, signSessionToken } from "./session-token";
import { acquireStream, memberStreamsId, releaseStream } from "./member-streams";
import { sessionLog } from "./session-log";
import { clientGeo } from "../shared/client-geo";
import { requireMember, type MemberVars } from "./member-auth";
import { homeSite, liveCandidates, rankOcas, type RankedOca, usableCandidates } from "./steering";
import { liveSiteViews, overlayLiveView } from "./steering-view";
import { steeringUrls } from "./content-steering";
import { validationHook } from "./validation";
import { requireJsonBody } from "./admin/json-body";
import { LAST_BATCH_GRACE_S, sessionTtlS } from "./session-ttl";
import { STOP_HOLD_MS } from "../../shared/stream-touch";
import {
  BODY_LIMITS,
  enforceIsolateLimit,
  limitBody,
  limitByIpUnlessMember,
  PLAYS_PER_IP_PER_MINUTE,
  PLAYS_PER_MEMBER_PER_MINUTE,
  rateLimited,
} from "./limits";

/**
 * Why this play was not steered to its home site first, as Open Connect counts misses: the home site
 * held a copy but health, load or liveness sent the client elsewhere (`health`), or it held none
 * (`content`, charged to the OCA the title hashes to there). Undefined when the home site leads.
 */
function steeringMiss(
  home: SiteSpec,
  titleId: string,
  listed: Array<{ siteId: string; ocaId: string }>,
  ranked: Array<{ siteId: string }>,
): { ocaId: string; kind: MissKind } | undefined {
  if (ranked[0]?.siteId === home.id) return undefined;
  const held = listed.find((c) => c.siteId === home.id);
  if (held) return { ocaId: held.ocaId, kind: "health" };
  const ocaId = rendezvousOrder(
    titleId,
    home.ocas.map((o) => o.id),
  )[0];
  return ocaId ? { ocaId, kind: "content" } : undefined;
}

/** A play answer carries a signed session for one member: no browser or shared cache may keep it. */
const NO_STORE = { "Cache-Control": "no-store" };

/**
 * The ranking cut to the pathways a session token carries (at most PATHWAYS_MAX_CHARS of site and OCA
 * ids), origin kept last: long ids would otherwise cut origin, the last resort, from the steered playlists,
 * and the answer's `ocas` would name OCAs the session's steering never offers.
 */
function withinSession(ranked: RankedOca[]): RankedOca[] {
  let kept = ranked;
  while (kept.length > 1 && sessionPathways(kept).length < kept.length) kept = [...kept.slice(0, -2), kept[kept.length - 1]];
  return kept === ranked ? ranked : kept.map((o, i) => ({ ...o, rank: i + 1 }));
}

/** POST /v1/play: authenticate, check the licence, pick renditions, steer, sign. */
export const play = new Hono<MemberVars>();

play.post(
  "/",
  limitByIpUnlessMember("PLAY_PER_IP", PLAYS_PER_IP_PER_MINUTE),
  limitBody(BODY_LIMITS.play),
  requireMember,
  // A body not declared JSON (text/plain from a bare fetch, a form) would be read as {} and refused as "titleId: expected string".
  requireJsonBody,
  zValidator("json", playRequestSchema, validationHook),
  async (c) => {
    const { ring, kid } = signingKey(c.env);
    const { titleId, device } = c.req.valid("json");
    const member = c.get("member");
    // Every play counts in the isolate, those refused before the member's object is asked included
    // (unknown titles and the like); a valid play counts there again, globally.
    enforceIsolateLimit("PLAY_PER_MEMBER", member.id, PLAYS_PER_MEMBER_PER_MINUTE);
    const geo = clientGeo(c.req.raw, c.env);
    const now = Date.now();
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    // The catalogue and the steering candidates come from the isolate's view (refreshed in the background).
    const [ctx, plan] = await Promise.all([catalogueCache.title(c.env, titleId, waitUntil), catalogueCache.plan(c.env, member.plan, waitUntil)]);
    if (!ctx) throw new ApiError(404, "unknown_title", `no title ${titleId}`);
    if (ctx.title.taken_down_at !== null) throw new ApiError(410, "taken_down", `${ctx.title.name} has been taken down`);
    if (!plan) throw new ApiError(403, "unknown_plan", `plan ${member.plan} does not exist`);
    if (ctx.title.available_from > now) {
      throw new ApiError(403, "not_released", `${ctx.title.name} launches at ${new Date(ctx.title.available_from).toISOString()}`, {
        availableFrom: new Date(ctx.title.available_from).toISOString(),
      });
    }
    const licence = checkLicence(geo.country ? (ctx.licences.get(geo.country) ?? null) : null, geo.country, now);
    if (!licence.ok) throw new ApiError(451, "not_licensed", licence.reason, { country: geo.country });

    const families = new Set(device.codecs.map(codecFamily));
    const maxHeight = Math.min(plan.max_height, device.maxHeight);
    const video = ctx.renditions.filter((r) => r.kind === "video" && families.has(codecFamily(r.codec)) && (r.height ?? 0) <= maxHeight);
    const audio = ctx.renditions.filter((r) => r.kind === "audio" && families.has(codecFamily(r.codec)));
    const subtitles = ctx.renditions.filter((r) => r.kind === "subtitle");
    if (video.length === 0) {
      throw new ApiError(422, "no_playable_rendition", `no video rendition of ${titleId} fits codecs [${[...families].join(", ")}] at <= ${maxHeight}p`);
    }

    const minCopies = ctx.title.live_min_copies ?? topology.fill.liveMinCopies;
    const sessionId = crypto.randomUUID();
    const ttl = sessionTtlS(c.env);
    const exp = Math.floor(now / 1000) + ttl;
    // The plan's concurrent streams, kept by the member's own object; if it cannot answer, the play goes ahead.
    // The member's object also keeps the member's play rate: one call, no separate rate limiter. It is
    // asked now, once the play is known to be valid, and answers while the play is steered and signed:
    // a play takes about as long as that one call.
    const slotAnswer = acquireStream(
      c.env,
      member.id,
      { sessionId, titleId, expiresAt: exp * 1000 },
      { streams: plan.max_streams, playsPerWindow: PLAYS_PER_MEMBER_PER_MINUTE },
    );
    try {
      // Every candidate counts toward a region's copies; only the sites this client may be steered to are asked for their live view.
      const live = overlayLiveView(ctx.candidates, await liveSiteViews(c.env, usableCandidates(topology, geo, ctx.candidates), waitUntil));
      const ranked = withinSession(rankOcas(topology, geo, titleId, liveCandidates(topology, live, minCopies)));
      const home = homeSite(topology, geo);
      // The play counts in the home site's viewing history with what a full watch at the top allowed
      // rung would cost, until the client reports real bytes (which that same figure caps).
      const topBps = Math.max(...video.map((r) => r.bandwidth)) + Math.max(0, ...audio.map((r) => r.bandwidth));
      const estBytes = Math.round((ctx.title.duration_s * topBps) / 8);
      // Nothing is written to a database: the session travels signed, with what steering and the events route need.
      const [token, sessionToken] = await Promise.all([
        signUrlToken(ring, kid, {
          titleId,
          sessionId,
          exp,
          maxHeight,
          version: ctx.title.version,
          home,
          country: licence.country,
          issuedAt: now,
          streams: memberStreamsId(c.env, member.id),
        }),
        signSessionToken(ring, kid, {
          sid: sessionId,
          mid: member.id,
          tid: titleId,
          ver: ctx.title.version,
          at: now,
          exp,
          cap: maxHeight,
          c: geo.country,
          asn: geo.asn,
          lat: geo.lat,
          lon: geo.lon,
          home,
          top: topBps,
          est: estBytes,
          pw: sessionPathways(ranked),
        }),
      ]);
      const slot = await slotAnswer;
      if (slot.state === "rate_limited") throw rateLimited("PLAY_PER_MEMBER", slot.retryAfterS);
      if (slot.state === "full") {
        // A member past its hour's handovers: streams stopped lately hold their slots (see HANDOVERS_PER_HOUR).
        const held =
          slot.stoppedHolding > 0
            ? `; ${slot.stoppedHolding} stream(s) stopped in the last ${STOP_HOLD_MS / 1000} s still hold their slots (too many stops and plays this hour)`
            : "";
        // Held slots free within STOP_HOLD_MS of their stops: an upper bound a client can wait out.
        const holdS = STOP_HOLD_MS / 1000;
        throw new ApiError(
          409,
          "too_many_streams",
          `plan ${plan.id} allows ${plan.max_streams} stream(s) at once; stop one to start another${held}`,
          {
            limit: plan.max_streams,
            active: slot.active,
            ...(slot.stoppedHolding > 0 ? { stoppedHolding: slot.stoppedHolding, retryAfterS: holdS } : {}),
          },
          slot.stoppedHolding > 0 ? { "Retry-After": String(holdS) } : undefined,
        );
      }
      const base = (c.env.EDGE_BASE_URL || new URL(c.req.url).origin).replace(/\/$/, "");
      const ocas = ranked.map((o) => ({ ...o, url: `${base}/oca/${o.siteId}/${o.ocaId}/${token}/${titleId}/` }));
      const homeSpec = findSite(home)!;
      if (slot.state === "unchecked") {
        // Failing open is recorded with the session, where operators look for it.
        waitUntil(
          sessionLog(c.env, home, sessionId)
            .recordEvents({
              session: { sessionId, titleId, startedAt: now, estBytes, topBps },
              batchId: `play-${sessionId}`,
              events: [{ type: "error", at: now, reason: `stream limit not checked: ${slot.reason}` }],
              now,
            })
            .catch((err) => console.error("record unchecked stream limit", err)),
        );
      }
      // The play counts at its home site; it rides that site's next batched sync, not a call of its own.
      recordPlayAt(
        c.env,
        home,
        {
          sessionId,
          titleId,
          day: dayNumber(now, homeSpec.timeZone),
          estBytes,
          topBps,
          startedAt: now,
          endsAt: (exp + LAST_BATCH_GRACE_S) * 1000,
          miss: steeringMiss(homeSpec, titleId, ctx.candidates, ranked),
        },
        waitUntil,
      );
      const body: PlayResponse = {
        sessionId,
        titleId,
        version: ctx.title.version,
        expiresAt: new Date(exp * 1000).toISOString(),
        expiresInS: Math.max(0, exp - Math.floor(Date.now() / 1000)),
        maxHeight,
        ocas,
        hls: `${ocas[0].url}master.m3u8`,
        dash: `${ocas[0].url}manifest.mpd`,
        steering: steeringUrls(base, sessionToken, titleId),
        sessionToken,
        renditions: {
          video: video.map((r) => ({ id: r.id, codec: r.codec, width: r.width, height: r.height, bandwidth: r.bandwidth })),
          audio: audio.map((r) => ({ id: r.id, codec: r.codec, language: r.language, label: r.label, bandwidth: r.bandwidth })),
          subtitles: subtitles.map((r) => ({ id: r.id, language: r.language, label: r.label })),
        },
        client: { country: geo.country, asn: geo.asn, simulated: geo.simulated },
      };
      return c.json(body, 200, NO_STORE);
    } catch (err) {
      // A play that fails once admitted leaves no stream behind: its client got no session to stop. One
      // whose admission went unanswered is released too, behind the answer (the object may yet grant it).
      const slot = await slotAnswer;
      const stream = { titleId, expiresAt: exp * 1000 };
      if (slot.state === "granted") await releaseStream(c.env, member.id, sessionId, stream, "failed_play");
      else if (slot.state === "unchecked") waitUntil(releaseStream(c.env, member.id, sessionId, stream, "failed_play"));
      throw err;
    }
  },
);
