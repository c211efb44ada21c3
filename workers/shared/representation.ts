import { decideRange, ifRangeHolds, matchHolds, modifiedSince, noneMatchHits, unmodifiedSinceHolds } from "./range";

/** Something the data plane can serve: an R2 object or a small generated text. */
export interface Representation {
  size: number;
  /** Quoted strong entity tag. */
  etag: string;
  lastModified?: Date;
  contentType: string;
  cacheControl: string;
  /**
   * The bytes, whole or a slice; streamed, never buffered for R2 objects. Null when the object
   * changed (or vanished) since its validators were read: its bytes must not go out under them.
   */
  body(range?: { offset: number; length: number }): Promise<ReadableStream | null>;
  /**
   * Lets go of a body fetched ahead (a whole R2 get, a colo cache hit) when the answer sends none of it
   * (HEAD, 304, 412, 416): else it stays open, megabytes of a segment, until the request ends.
   */
  release?(): Promise<void>;
}

/** The object changed between the lookup and the body read; the caller looks it up again. */
export class RepresentationChanged extends Error {
  constructor() {
    super("the object changed while it was being served");
  }
}

/**
 * An R2 object as a Representation. `obj` is a head (the body is fetched only when sent) or, when the
 * caller already knows it will send the whole body, a full get: then the common case is one R2 call.
 */
export function r2Representation(bucket: R2Bucket, key: string, obj: R2Object | R2ObjectBody, contentType: string, cacheControl: string): Representation {
  let inHand = "body" in obj ? obj.body : null;
  return {
    size: obj.size,
    etag: obj.httpEtag,
    lastModified: obj.uploaded,
    contentType,
    cacheControl,
    async body(range) {
      if (!range && inHand) {
        const body = inHand;
        inHand = null;
        return body;
      }
      // onlyIf: the bytes must belong to the version whose ETag and length were already chosen.
      const got = await bucket.get(key, { ...(range ? { range } : {}), onlyIf: { etagMatches: obj.etag } });
      return got && "body" in got ? got.body : null;
    },
    async release() {
      await inHand?.cancel();
      inHand = null;
    },
  };
}

/** A small in-memory text (a filtered manifest) as a Representation. */
export function textRepresentation(text: string, etag: string, contentType: string, cacheControl: string, lastModified?: Date): Representation {
  const bytes = new TextEncoder().encode(text);
  return {
    size: bytes.byteLength,
    etag,
    lastModified,
    contentType,
    cacheControl,
    async body(range) {
      const slice = range ? bytes.subarray(range.offset, range.offset + range.length) : bytes;
      return new Response(slice).body;
    },
  };
}

/**
 * Answers GET/HEAD for a representation with RFC 9110 semantics, preconditions in the order of
 * §13.2.2: If-Match (else If-Unmodified-Since) failing is 412; If-None-Match (else
 * If-Modified-Since) matching is 304; then Range (GET only, §14.2), subject to If-Range: 206 for one
 * satisfiable range, 416 with `Content-Range: bytes *\/LEN`, else 200.
 * Throws RepresentationChanged when the bytes changed under their validators.
 */
export async function serveRepresentation(req: Request, rep: Representation, extra: Record<string, string> = {}): Promise<Response> {
  const headers = new Headers(extra);
  headers.set("Accept-Ranges", "bytes");
  headers.set("ETag", rep.etag);
  headers.set("Cache-Control", rep.cacheControl);
  headers.set("Content-Type", rep.contentType);
  if (rep.lastModified) headers.set("Last-Modified", rep.lastModified.toUTCString());
  const head = req.method === "HEAD";
  const h = req.headers;

  const ifMatch = h.get("If-Match");
  const preconditionFailed = ifMatch !== null ? !matchHolds(ifMatch, rep.etag) : !unmodifiedSinceHolds(h.get("If-Unmodified-Since"), rep.lastModified);
  if (preconditionFailed) {
    // An answer to this request's conditions, not the file: never the file's (year-long) caching.
    headers.set("Cache-Control", "no-store");
    headers.set("Content-Type", "application/json");
    const body = JSON.stringify({
      error: { code: "precondition_failed", message: "If-Match or If-Unmodified-Since does not hold for the current representation" },
    });
    await rep.release?.();
    return new Response(head ? null : body, { status: 412, headers });
  }

  const ifNoneMatch = h.get("If-None-Match");
  const notModified = ifNoneMatch !== null ? noneMatchHits(ifNoneMatch, rep.etag) : modifiedSince(h.get("If-Modified-Since"), rep.lastModified) === false;
  if (notModified) {
    headers.delete("Content-Type");
    await rep.release?.();
    return new Response(null, { status: 304, headers });
  }

  // Only GET has range semantics: HEAD answers as a GET without Range would.
  let decision = head ? ({ kind: "full" } as const) : decideRange(h.get("Range"), rep.size);
  if (decision.kind !== "full" && !ifRangeHolds(h.get("If-Range"), rep.etag, rep.lastModified)) {
    decision = { kind: "full" };
  }
  if (decision.kind === "unsatisfiable") {
    // An answer to this request's range, not the file: a cache keyed by URL must not keep it.
    headers.set("Cache-Control", "no-store");
    headers.set("Content-Range", `bytes */${rep.size}`);
    headers.set("Content-Type", "application/json");
    const body = JSON.stringify({ error: { code: "range_not_satisfiable", message: `range outside 0-${Math.max(0, rep.size - 1)}` } });
    await rep.release?.();
    return new Response(body, { status: 416, headers });
  }
  if (decision.kind === "partial") {
    const length = decision.end - decision.start + 1;
    headers.set("Content-Range", `bytes ${decision.start}-${decision.end}/${rep.size}`);
    headers.set("Content-Length", String(length));
    const body = await rep.body({ offset: decision.start, length });
    if (!body) throw new RepresentationChanged();
    return new Response(body, { status: 206, headers });
  }
  headers.set("Content-Length", String(rep.size));
  if (head) {
    await rep.release?.();
    return new Response(null, { status: 200, headers });
  }
  const body = await rep.body();
  if (!body && rep.size > 0) throw new RepresentationChanged();
  return new Response(body, { status: 200, headers });
}
