/**
 * Object keys and content types of a title's files: the same for the Worker, ingest and the seed.
 *
 * Keys are content-addressed: a file's key carries a tag of its SHA-256, so the bytes under a key
 * never change. A re-published title (a new version) puts its changed files under new keys beside
 * the old ones; sessions on the old version keep reading the old bytes, and no OCA ever serves a
 * mix. Which bytes a version means is its index (`versionIndexKey`), written when it is registered.
 */

/** The part of a SHA-256 (hex) that goes into keys: 64 bits, unique enough per (title, path). */
export function contentTag(sha256: string): string {
  return sha256.slice(0, 16);
}

/** Key of a title file (one content) in the origin bucket. */
export function originKey(titleId: string, path: string, sha256: string): string {
  return `${titleId}/${contentTag(sha256)}/${path}`;
}

/** Key of an OCA's copy of a title file (one content) in its tier bucket. */
export function ocaKey(siteId: string, ocaId: string, titleId: string, path: string, sha256: string): string {
  return `${siteId}/${ocaId}/${titleId}/${contentTag(sha256)}/${path}`;
}

/** Key of the index of a title version in the origin bucket: which content each path means in it. */
export function versionIndexKey(titleId: string, version: number): string {
  return `${titleId}/versions/${version}.json`;
}

/**
 * Key of origin's list of titles taken down (`shared/withdrawn.ts`): the data plane refuses their
 * files whatever a session's token says. A "." cannot begin a title id, so no title's keys meet it.
 */
export const WITHDRAWN_KEY = ".catalogue/withdrawn.json";

const TAG = /^[0-9a-f]{16}$/;

/** The path and content tag of an origin key under `${titleId}/`; null for anything else (indexes, stray keys). */
export function parseOriginKey(titleId: string, key: string): { path: string; tag: string } | null {
  if (!key.startsWith(`${titleId}/`)) return null;
  const rest = key.slice(titleId.length + 1);
  const slash = rest.indexOf("/");
  if (slash !== 16 || !TAG.test(rest.slice(0, 16))) return null;
  return { path: rest.slice(17), tag: rest.slice(0, 16) };
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
    case "jpg":
    case "jpeg":
      return "image/jpeg";
    case "png":
      return "image/png";
    case "webp":
      return "image/webp";
    default:
      return "application/octet-stream";
  }
}

/** Manifests change meaning with the session's cap and may be re-published; media files never change. */
export function isManifest(path: string): boolean {
  return path.endsWith(".m3u8") || path.endsWith(".mpd");
}

const MEDIA = /\.(m4s|mp4|m4v|m4a|cmfv|cmfa|ts|aac|webm)$/i;

/**
 * Why a title's file may not be where it is, or null: OCAs check a session's height cap by the folder
 * a video file is in, so video lives in folders that name their height, and no media file lies outside
 * the video and audio folders where the cap could not see it.
 */
export function layoutProblem(path: string): string | null {
  if (path.startsWith("video/")) return videoHeightOf(path) === null ? "video files go in video/{codec}-{height}p/" : null;
  if (MEDIA.test(path) && !path.startsWith("audio/")) return "media files go in video/{codec}-{height}p/ or audio/";
  return null;
}

/** Where a title's poster may be: at the title root, as one of the image types apps can show. */
export const POSTER_PATHS = ["poster.jpg", "poster.png", "poster.webp"] as const;

/**
 * Why `path` cannot be a title's poster, or null. Only the root names above: a poster is served
 * publicly by its own route (no token, no height cap), so it may not name a media file of the title.
 */
export function posterProblem(path: string): string | null {
  return (POSTER_PATHS as readonly string[]).includes(path) ? null : `the poster must be at ${POSTER_PATHS.join(", ")}`;
}

/** Height of the video rendition a path belongs to (video/{codec}-{height}p/...), or null. */
export function videoHeightOf(path: string): number | null {
  const m = /^video\/[a-z0-9]+-(\d{2,4})p\//.exec(path);
  return m ? Number(m[1]) : null;
}
