/**
 * Typed session events, in the style of `Hls.Events`: `session.on(SessionEvents.OCA_SWITCH, fn)`,
 * `off`, `once`. Listeners run synchronously; one that throws does not stop the others.
 */
import type { SdkError } from "./errors";
import type { ProbeResult } from "./scoring";
import type { OcaEntry } from "./types";

export const SessionEvents = {
  /** The first probe round is done and the session streams from `ocaId`. */
  READY: "ready",
  /** A probe round finished (the first one and every re-probe). */
  PROBES_DONE: "probesDone",
  /** The session moved to another OCA, for any reason (failure, steering, a better OCA, a renewal). */
  OCA_SWITCH: "ocaSwitch",
  /** A request failed on an OCA and moved to another one. */
  FAILOVER: "failover",
  /** A steering manifest re-ranked the OCAs. */
  STEERING_UPDATE: "steeringUpdate",
  /** A QoE batch reached the control plane. */
  QOE_BATCH_SENT: "qoeBatchSent",
  /** Something went wrong: `error.severity` says whether the session carried on. */
  ERROR: "error",
  /** The session stopped: no more requests, probes or polls. */
  STOPPED: "stopped",
} as const;
export type SessionEventName = (typeof SessionEvents)[keyof typeof SessionEvents];

export interface SessionEventMap {
  ready: { ocaId: string; probes: ProbeResult[] };
  probesDone: { probes: ProbeResult[]; initial: boolean };
  ocaSwitch: { from: OcaEntry; to: OcaEntry; reason: string };
  failover: { from: OcaEntry; to: OcaEntry; reason: string };
  /** `priority`: the server's order as the session took it (its own OCAs only, each once), not the list as sent. */
  steeringUpdate: { priority: string[]; reloadUri: string | null };
  qoeBatchSent: { events: number; final: boolean };
  error: SdkError;
  stopped: { reason: string };
}

export type SessionListener<K extends SessionEventName> = (data: SessionEventMap[K]) => void;

/** The app's listener each `once` wrapper calls, so that `off(event, fn)` finds it. */
const onceOf = new WeakMap<object, unknown>();

/** A small typed event emitter. */
export class SessionEmitter {
  private readonly handlers = new Map<SessionEventName, Set<SessionListener<never>>>();

  on<K extends SessionEventName>(event: K, fn: SessionListener<K>): this {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(fn as SessionListener<never>);
    return this;
  }

  /** Removes `fn`, whether `on` or `once` added it. */
  off<K extends SessionEventName>(event: K, fn: SessionListener<K>): this {
    const set = this.handlers.get(event);
    if (!set) return this;
    set.delete(fn as SessionListener<never>);
    // A `once` listener sits in the set as its wrapper: `off` with the app's own function removes it too.
    for (const h of set) if (onceOf.get(h) === fn) set.delete(h);
    return this;
  }

  once<K extends SessionEventName>(event: K, fn: SessionListener<K>): this {
    const wrapped: SessionListener<K> = (data) => {
      this.off(event, wrapped);
      fn(data);
    };
    onceOf.set(wrapped as SessionListener<never>, fn);
    return this.on(event, wrapped);
  }

  protected fire<K extends SessionEventName>(event: K, data: SessionEventMap[K]): void {
    for (const fn of [...(this.handlers.get(event) ?? [])]) {
      try {
        (fn as SessionListener<K>)(data);
      } catch (err) {
        console.error(`listener of ${event} threw`, err);
      }
    }
  }
}
