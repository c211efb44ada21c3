/**
 * A live stream tells its member's object it is alive at most this often per isolate: half the
 * object's silence window (2 min), so a stream polling every few seconds is always seen in time, at
 * one object call a minute per stream rather than one per poll. Shared by the control plane and the
 * capacity model (bench/scale.ts).
 */
export const TOUCH_EVERY_MS = 60_000;

/**
 * How long after its stop a stream's activity is left undecided rather than refused: a client renewing
 * its session stops the old one before it plays the new one (so a one-stream plan has the slot free),
 * and requests it made under the old one may still arrive.
 */
export const STOP_GRACE_MS = 30_000;

/**
 * How long a stream its client stopped may still be served: an isolate that counted it just before the
 * stop asks the member's object again only a touch interval later (TOUCH_EVERY_MS), or that long after
 * a touch within the stop's grace.
 */
export const STOP_HOLD_MS = STOP_GRACE_MS + TOUCH_EVERY_MS;
