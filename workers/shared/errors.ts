import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isD1Unavailable } from "./d1-unavailable";

/** The one JSON error shape of every API: {"error":{"code","message","details?"}}. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** An HTTP error with a machine-readable code; turned into ErrorBody by the app's onError. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(status, { message });
  }
}

/** The code of an HTTPException thrown by Hono itself rather than as an ApiError. */
function httpExceptionCode(status: number): string {
  if (status === 400) return "invalid_request";
  return status === 401 ? "unauthorized" : "bad_request";
}

/** Builds the JSON error response for any thrown value (never cached); unknown errors become a 500 without internals. */
export function errorResponse(err: unknown): Response {
  let status = 500;
  let body: ErrorBody = { error: { code: "internal", message: "internal error" } };
  let headers: Record<string, string> = {};
  if (err instanceof ApiError) {
    status = err.status;
    body = { error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } };
    headers = err.headers ?? {};
  } else if (err instanceof HTTPException) {
    // Hono's own: a body that is not JSON (400) is invalid input like any other, under the one 400 code.
    status = err.status;
    body = { error: { code: httpExceptionCode(status), message: err.message || "bad request" } };
  } else if (isD1Unavailable(err)) {
    // A read straight from D1 (an admin read, a title's registration) while D1 is out: the documented 503
    // an operator's script retries, not an "internal error" that reads as a bug.
    console.error("D1 unavailable", err);
    status = 503;
    body = { error: { code: "catalogue_unavailable", message: "the catalogue database (D1) cannot be reached right now; retry shortly" } };
    headers = { "Retry-After": "5" };
  } else {
    console.error("unhandled error", err);
  }
  // An error answers one request, never the resource: no browser or shared cache may keep it (an OCA's
  // URL caches a year when it answers bytes; a 503 kept there would outlive the outage).
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}
