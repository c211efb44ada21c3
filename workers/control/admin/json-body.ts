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

/**
 * For a route that takes no body (a takedown, an eviction, a stream freed, a retire): a body with any
 * field is a 400 naming them, as a misspelt field of a body is; ignored, `{"dryRun":true}` sent with
 * `DELETE /admin/titles/x` took the title down. No body, or `{}` (a client that always sends one), passes.
 */
export const noBody = createMiddleware<AdminEnv>(async (c, next) => {
  const text = c.req.raw.body === null ? "" : (await c.req.text()).trim();
  if (text !== "") {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(400, "invalid_request", "this route takes no body, and the one sent is not JSON");
    }
    const keys = body !== null && typeof body === "object" && !Array.isArray(body) ? Object.keys(body) : null;
    if (keys === null || keys.length > 0) {
      const message = keys
        ? `this route takes no body: unrecognized key(s) ${keys
            .slice(0, 10)
            .map((k) => JSON.stringify(k.slice(0, 64)))
            .join(", ")}`
        : "this route takes no body";
      throw new ApiError(400, "invalid_request", message, { issues: [{ path: "", message }] });
    }
  }
  await next();
});
