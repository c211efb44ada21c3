import { createMiddleware } from "hono/factory";
import { ApiError } from "../../shared/errors";
import type { AdminEnv } from "./params";

/** The media types Hono's JSON validator parses (`application/json`, `application/*+json`, any parameters). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Refuses a request body that is not declared JSON with 415 `unsupported_media_type`. Hono's JSON
 * validator reads such a body as `{}` without a word: `curl -d` (form-encoded) or a `fetch` with a
 * string body (text/plain) then ran with every default, and a fault switch sent so was cleared.
 * A request without a body (retire, a fill cycle with its defaults) passes.
 */
export const requireJsonBody = createMiddleware<AdminEnv>(async (c, next) => {
  const hasBody = c.req.raw.body !== null && c.req.header("Content-Length") !== "0";
  const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0].trim();
  if (hasBody && !JSON_MEDIA_TYPE.test(mediaType)) {
    throw new ApiError(
      415,
      "unsupported_media_type",
      `the body must be JSON, sent with Content-Type: application/json (not ${mediaType ? `"${mediaType.slice(0, 100)}"` : "none"})`,
    );
  }
  await next();
});
