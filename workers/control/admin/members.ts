/** Admin: a member's streams (what counts against the plan's limit), and freeing one. */
import { Hono } from "hono";
import { ApiError } from "../../shared/errors";
import { memberStreams } from "../member-streams";
import { noBody } from "./json-body";
import { type AdminEnv, memberParam, memberStreamParam, noQuery, params } from "./params";

export const membersRoutes = new Hono<AdminEnv>();

/** The member's streams that count now, oldest first, with when each was last seen (a play, a poll, a batch, a segment). */
membersRoutes.get("/members/:memberId/streams", params(memberParam), noQuery, async (c) => {
  const { memberId } = c.req.valid("param");
  return c.json({ memberId, streams: await memberStreams(c.env, memberId).active() });
});

/**
 * Frees one of the member's slots, as a support desk does for a device that stopped without saying so
 * (it would free itself after the silence window) or one that should not be playing. The slot is free
 * at once; if the device plays on, its OCA requests get 409 within a minute (the stream counts as stopped).
 */
membersRoutes.delete("/members/:memberId/streams/:sessionId", params(memberStreamParam), noBody, async (c) => {
  const { memberId, sessionId } = c.req.valid("param");
  if (!(await memberStreams(c.env, memberId).release(sessionId))) {
    throw new ApiError(404, "unknown_stream", `member ${memberId} has no stream ${sessionId} that counts`);
  }
  return c.json({ memberId, sessionId, released: true });
});
