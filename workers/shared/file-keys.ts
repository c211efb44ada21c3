/** Object keys and path rules shared by both planes. */

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * Names an object inherits ("__proto__", "constructor", "toString", ...). Ids and path segments
 * end up as keys of records in the planner and in RPC results, so none may be one of these.
 */
const INHERITED = new Set([...Object.getOwnPropertyNames(Object.prototype), "prototype"]);

/** True if `s` names a property every object inherits; such a string is never a valid id. */
export function isInheritedName(s: string): boolean {
  return INHERITED.has(s);
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The one rule for title, site and OCA ids: 1-64 of [A-Za-z0-9_-], never an inherited property name. */
export function isSafeId(s: string): boolean {
  return ID.test(s) && !INHERITED.has(s);
}

/** What isSafeId allows, for error messages. */
export const SAFE_ID_RULE = "1-64 characters of [A-Za-z0-9_-], not a reserved name such as __proto__";

/** True if a single path segment is safe: no dots-only names, separators, encodings, control characters or inherited names. */
export function isSafeSegment(s: string): boolean {
  return SEGMENT.test(s) && !s.includes("..") && !INHERITED.has(s);
}

/** True if a relative file path inside a title is safe (1-8 safe segments). */
export function isSafeFilePath(path: string): boolean {
  const parts = path.split("/");
  return parts.length >= 1 && parts.length <= 8 && parts.every(isSafeSegment);
}

/** Key of a title file in the origin bucket. */
export function originKey(titleId: string, path: string): string {
  return `${titleId}/${path}`;
}

/** Key of an OCA's copy of a title file in its tier bucket. */
export function ocaKey(siteId: string, ocaId: string, titleId: string, path: string): string {
  return `${siteId}/${ocaId}/${titleId}/${path}`;
}

/** Content-Type by extension for the kinds of file a title has. */
export function contentTypeFor(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  switch (ext) {
    case "m3u8":
      return "application/vnd.apple.mpegurl";
    case "mpd":
      return "application/dash+xml";
    case "m4s":
      return path.startsWith("audio/") ? "audio/iso.segment" : "video/iso.segment";
    case "mp4":
      return path.startsWith("audio/") ? "audio/mp4" : "video/mp4";
    case "m4a":
      return "audio/mp4";
    case "vtt":
      return "text/vtt; charset=utf-8";
    case "json":
      return "application/json";
    default:
      return "application/octet-stream";
  }
}

/** Manifests change meaning with the session's cap and may be re-published; media files never change. */
export function isManifest(path: string): boolean {
  return path.endsWith(".m3u8") || path.endsWith(".mpd");
}

/** Height of the video rendition a path belongs to (video/{codec}-{height}p/...), or null. */
export function videoHeightOf(path: string): number | null {
  const m = /^video\/[a-z0-9]+-(\d{2,4})p\//.exec(path);
  return m ? Number(m[1]) : null;
}
