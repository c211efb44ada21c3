import { z } from "zod";
import { isSafeId, SAFE_ID_RULE } from "./ids";

/**
 * The play request and response: the contract between the control plane, the client SDK, the
 * benchmarks and the tests. The request schema is the one that validates `POST /v1/play`.
 */

/**
 * A field it does not name is refused, at the top and in `device`: a misspelt `device.maxheight` would
 * otherwise be dropped and its default (2160p) played without a word.
 */
export const playRequestSchema = z.strictObject({
  titleId: z.string().refine(isSafeId, `titleId must be ${SAFE_ID_RULE}`),
  device: z
    .strictObject({
      codecs: z.array(z.string().min(1).max(64)).min(1).max(32).default(["avc1", "mp4a"]),
      maxHeight: z.number().int().min(144).max(4320).default(2160),
    })
    .default({ codecs: ["avc1", "mp4a"], maxHeight: 2160 }),
});

/** What a client sends to `POST /v1/play` (device fields default when absent). */
export type PlayRequest = z.input<typeof playRequestSchema>;

export type Tier = "embedded" | "ixp" | "origin";

/** One ranked OCA of a play response. `url` is the OCA's base URL for this title, ending in `/`. */
export interface OcaEntry {
  rank: number;
  siteId: string;
  ocaId: string;
  tier: Tier;
  distanceKm: number | null;
  /** Egress over the OCA's throughput limit when ranked (1 = at the limit). */
  load: number;
  /** True when the OCA's site could not be reached and its last-known view was used. */
  stale: boolean;
  url: string;
}

export interface VideoRendition {
  id: string;
  codec: string;
  width: number | null;
  height: number | null;
  bandwidth: number;
}

export interface AudioRendition {
  id: string;
  codec: string;
  language: string | null;
  label: string | null;
  bandwidth: number;
}

export interface SubtitleRendition {
  id: string;
  language: string | null;
  label: string | null;
}

export interface SteeringUrls {
  /** Per-session multivariant playlist with #EXT-X-CONTENT-STEERING and one pathway per OCA. */
  hls: string;
  /** Per-session MPD with <ContentSteering> and one BaseURL@serviceLocation per OCA. */
  dash: string;
  /** Steering manifest URL (takes _HLS_pathway / _HLS_throughput or the _DASH_ pair). */
  server: string;
}

export interface PlayResponse {
  sessionId: string;
  titleId: string;
  /**
   * The signed session: send it with QoE events (`POST /v1/events`). The steering URLs carry it too.
   * Opaque to clients.
   */
  sessionToken: string;
  /** The title version this session plays until it ends, even if the title is re-published meanwhile. */
  version: number;
  expiresAt: string;
  /**
   * Seconds from this answer until `expiresAt`: what a client times its renewal by, so a device
   * clock that is off (by hours, even) renews neither too late nor in a loop.
   */
  expiresInS: number;
  maxHeight: number;
  ocas: OcaEntry[];
  hls: string;
  dash: string;
  steering: SteeringUrls;
  renditions: { video: VideoRendition[]; audio: AudioRendition[]; subtitles: SubtitleRendition[] };
  client: { country: string | null; asn: number | null; simulated: boolean };
}
