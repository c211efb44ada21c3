import { z } from "zod";
import { QOE_EVENT_TYPES, QOE_OCA_ID_MAX, QOE_REASON_MAX } from "./qoe-batch";

/**
 * Play and QoE events: the contract between the client SDK (which batches them) and the control
 * plane (which validates them with these schemas and counts their bytes in viewing history).
 */

/** Written out, so the SDK's published types need nothing from this module's runtime. */
export type QoeEventType = "start" | "progress" | "bitrate_switch" | "rebuffer" | "oca_switch" | "error" | "stop";
export const EVENT_TYPES = QOE_EVENT_TYPES satisfies readonly QoeEventType[];
const everyEventType: Same<(typeof EVENT_TYPES)[number], QoeEventType> = true;
void everyEventType;

export const qoeEventSchema = z.object({
  type: z.enum(EVENT_TYPES),
  /** Client time (ms since epoch); defaults to arrival. */
  at: z.number().int().positive().optional(),
  /** Media bytes received since the previous report: feeds the viewing history, within the session's caps. */
  bytes: z.number().int().min(0).max(1e12).optional(),
  startupMs: z.number().min(0).max(600_000).optional(),
  durationMs: z.number().min(0).max(86_400_000).optional(),
  bitrate: z.number().int().min(0).max(1e10).optional(),
  fromBitrate: z.number().int().min(0).max(1e10).optional(),
  ocaId: z.string().max(QOE_OCA_ID_MAX).optional(),
  fromOcaId: z.string().max(QOE_OCA_ID_MAX).optional(),
  reason: z.string().max(QOE_REASON_MAX).optional(),
  positionS: z.number().min(0).max(1e6).optional(),
});

/**
 * A play/QoE event exactly as `POST /v1/events` takes it. Written out (not inferred from the schema)
 * so the client SDK's published types need no zod; the two checks below keep it equal to the schema.
 */
export interface QoeEvent {
  type: QoeEventType;
  /** Client time (ms since epoch); defaults to arrival. */
  at?: number;
  /** Media bytes received since the previous report. */
  bytes?: number;
  startupMs?: number;
  durationMs?: number;
  bitrate?: number;
  fromBitrate?: number;
  ocaId?: string;
  fromOcaId?: string;
  reason?: string;
  positionS?: number;
}
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesQoeEvent: Same<z.infer<typeof qoeEventSchema>, QoeEvent> = true;
void schemaMatchesQoeEvent;

/** Events a batch may carry. */
export const MAX_EVENTS_PER_BATCH = 200;

export const eventsRequestSchema = z.object({
  sessionId: z.uuid(),
  /** The play response's `sessionToken`: the signed session, so the route finds it without a lookup. */
  sessionToken: z.string().min(1).max(2048),
  /** Idempotency key: a batch resent after a lost response carries the same id and counts once. */
  batchId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "batchId must be 8-64 characters of [A-Za-z0-9_-]"),
  events: z.array(qoeEventSchema).min(1).max(MAX_EVENTS_PER_BATCH),
});

export type EventsRequest = z.infer<typeof eventsRequestSchema>;
