import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

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

/** Builds the JSON error response for any thrown value; unknown errors become a 500 without internals. */
export function errorResponse(err: unknown): Response {
  let status = 500;
  let body: ErrorBody = { error: { code: "internal", message: "internal error" } };
  let headers: Record<string, string> = {};
  if (err instanceof ApiError) {
    status = err.status;
    body = { error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } };
    headers = err.headers ?? {};
  } else if (err instanceof HTTPException) {
    status = err.status;
    body = { error: { code: status === 401 ? "unauthorized" : "bad_request", message: err.message || "bad request" } };
  } else {
    console.error("unhandled error", err);
  }
  return Response.json(body, { status, headers });
}
