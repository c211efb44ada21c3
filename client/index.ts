/**
 * The client SDK: press play, probe the ranked OCAs, pick, adapt, fail over, report QoE.
 * Core modules use only fetch, AbortController, URL, timers and performance: they run in browsers,
 * Node and workerd. The web player (client/player/) adds hls.js on top.
 */
export { createClient, devToken, VcdnClient, type ClientOptions } from "./api";
export { PlaySession, type PlayOptions, type OcaSwitch } from "./session";
export { SessionEvents, type SessionEventName, type SessionEventMap } from "./events";
export { SdkError, ErrorCategory, ERROR_CODES, type ErrorName, type ErrorData, type Severity } from "./errors";
export { SegmentFetcher, type FetcherOptions, type FetcherState, type Stall, type Download } from "./fetcher";
export { chooseRung, highestFitting, bufferShare, ThroughputEstimator, DEFAULT_ABR, type AbrParams, type AbrInput, type Rung } from "./abr";
export { OcaSelector, scoreOca, expectedFetchMs, DEFAULT_SELECTOR, type SelectorParams, type ProbeResult, type OcaRef, type Decision } from "./scoring";
export { EventReporter, type ReporterOptions } from "./reporter";
export { probeUrl, type ProbeOptions } from "./probe";
export { parseMultivariant, parseMediaPlaylist, parseAttributes } from "./hls-playlist";
export * from "./types";
