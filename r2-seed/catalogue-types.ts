/**
 * Shape of `{cacheDir}/catalogue.json`, written by `r2-seed/build-catalogue.ts` (which runs the
 * generated demo sources through the ingest pipeline, `ingest/`).
 *
 * Every path in `files` is relative to the title directory (`{cacheDir}/{titleId}/`),
 * uses forward slashes, and is also the exact relative URI used inside the
 * title's playlists / MPD (all manifest URIs are relative).
 */

export type RenditionKind = "video" | "audio" | "subtitle";

export interface CatalogueRendition {
  /** e.g. "avc-240p", "aac-en", "sub-en" */
  id: string;
  kind: RenditionKind;
  /** RFC 6381 codec string, e.g. "avc1.64001e", "mp4a.40.2", "wvtt" */
  codec: string;
  width?: number;
  height?: number;
  /** peak segment bitrate (bits/s) of this rendition alone */
  bandwidth: number;
  /** average bitrate (bits/s) of this rendition alone */
  averageBandwidth?: number;
  frameRate?: number;
  /** BCP 47 language, e.g. "en", "es" */
  language?: string;
  /** human readable label, e.g. "English", "720p" */
  label?: string;
}

export interface CatalogueFile {
  /** relative to the title dir, e.g. "video/avc-240p/seg-00001.m4s" */
  path: string;
  bytes: number;
  /** lowercase hex sha256 of the file contents */
  sha256: string;
}

export interface CatalogueTitle {
  id: string;
  name: string;
  description: string;
  releaseYear: number;
  durationS: number;
  renditions: CatalogueRendition[];
  files: CatalogueFile[];
  /** The path of the poster among `files` (ingest makes `poster.jpg`), registered as the title's `poster`. */
  poster?: string;
  /**
   * How the pipeline chose the ladder (reason, complexity, rungs, probe, ...): the `encoding`
   * object of `PUT /admin/titles/{id}`.
   */
  encoding?: {
    reason: string;
    complexity?: number;
    ladder: Array<{ id: string; codec: string; width: number; height: number; bitrate: number }>;
    [key: string]: unknown;
  };
}

/** A generated source the pipeline refused (the demo includes one on purpose). */
export interface RejectedSource {
  id: string;
  name: string;
  /** relative to the catalogue dir */
  source: string;
  reasons: Array<{ code: string; message: string }>;
}

export interface Catalogue {
  version: 1;
  /** ISO 8601 timestamp */
  builtAt: string;
  /** digest of the demo sources it was built from (build-catalogue.ts `sourcesDigest`) */
  sources?: string;
  titles: CatalogueTitle[];
  /** sources the pipeline rejected (not published) */
  rejected?: RejectedSource[];
  /** ingest time per stage and title (s) */
  timings?: Record<string, Record<string, number>>;
}
