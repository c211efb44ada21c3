/**
 * How a playing SDK session re-probes OCAs: every REPROBE_EVERY_MS, REPROBE_OCAS of them: the current
 * OCA, the next of its ranking, and one of the rest in turn (not the whole list: a play's list holds up to ten, and probing them all
 * with a 256 KiB range every 10 s would cost each viewer about 2 Mb/s). Shared by the SDK (its defaults)
 * and the capacity model (bench/scale.ts), which counts the probes as segment requests.
 */
export const REPROBE_EVERY_MS = 10_000;
export const REPROBE_OCAS = 3;
