import type { CmcdReport } from "../workers/shared/site-view";

/** One session's CMCD as an isolate reports it: one request of title "t" with no player readings, unless `over` says otherwise. */
export const cmcdReport = (sessionId: string, over: Partial<CmcdReport> = {}): CmcdReport => ({
  sessionId,
  titleId: "t",
  sid: null,
  requests: 1,
  bytes: 100,
  stalls: 0,
  startups: 0,
  bitrateKbps: null,
  bufferMs: null,
  throughputKbps: null,
  topBitrateKbps: null,
  lastOca: "unknown",
  firstAt: 0,
  lastAt: 0,
  ...over,
});
