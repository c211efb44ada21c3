/**
 * The client SDK's public API (`@edge-video-cdn/client`): press play, probe the ranked OCAs, pick,
 * adapt, fail over, report QoE. Core modules use only fetch, AbortController, URL, timers and
 * performance: they run in browsers, Node and workerd. Internals (selector, reporter, probe,
 * playlist parsing) are reachable as types only, through the session's fields.
 */
export { createClient, devToken, VcdnClient, type ClientOptions } from "./api";
export { PlaySession, type PlayOptions, type OcaSwitch, type SessionTestHooks } from "./session";
export { SessionEvents, type SessionEventName, type SessionEventMap, type SessionEmitter, type SessionListener } from "./events";
export { SdkError, ErrorCategory, ERROR_CODES, activeTitleIdsOf, stoppedHoldingOf, type ErrorName, type ErrorData, type Severity } from "./errors";
export type { CmcdMode } from "./cmcd";
export { SegmentFetcher, type FetcherOptions, type FetcherState, type Stall, type Download } from "./fetcher";
export type { AbrParams, ThroughputEstimator } from "./abr";
export type { SelectorParams, ProbeResult, OcaSelector, OcaRef, Decision, Ranked, Exclusion } from "./scoring";
export type { EventReporter, ReporterOptions } from "./reporter";
export * from "./types";
export {
  attachShaka,
  shakaFailureReason,
  ShakaRequestType,
  type ShakaPlayerLike,
  type ShakaNetworkingEngineLike,
  type ShakaRequestLike,
  type ShakaResponseLike,
  type ShakaRequestFilter,
  type ShakaResponseFilter,
  type ShakaErrorLike,
  type ShakaRetryEventLike,
} from "./player/shaka-adapter";
export {
  attachDashjs,
  DashRequestType,
  type DashPlayerLike,
  type DashRequestLike,
  type DashResponseLike,
  type DashRequestInterceptor,
  type DashResponseInterceptor,
} from "./player/dash-adapter";
