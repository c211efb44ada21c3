/**
 * A live stream tells its member's object it is alive at most this often per isolate: half the
 * object's silence window (2 min), so a stream polling every few seconds is always seen in time, at
 * one object call a minute per stream rather than one per poll. Shared by the control plane and the
 * capacity model (bench/scale.ts).
 */
export const TOUCH_EVERY_MS = 60_000;
