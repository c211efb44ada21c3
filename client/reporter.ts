import { QOE_BATCH_EVERY_MS } from "../shared/qoe-batch";
import { defined, type QoeEvent } from "./types";

export interface ReporterOptions {
  /**
   * Sends one batch (1-200 events) to `POST /v1/events`; rejects on failure. A retry of the same
   * batch carries the same `batchId`, so the server counts it once even when only the response was lost.
   */
  send: (events: QoeEvent[], opts: { final: boolean; batchId: string; tag?: unknown }) => Promise<void>;
  /**
   * Called as a batch is formed; what it returns goes to `send` with that batch, however late it is
   * sent (a session that renews passes its play then: a batch formed before a renewal goes under the
   * old session, never the new one).
   */
  tag?: () => unknown;
  /** How often queued events go out (ms; default 10 s, `QOE_BATCH_EVERY_MS`). */
  flushIntervalMs?: number;
  /** A batch goes out at once when this many events are queued. */
  maxQueued?: number;
  /** Wall clock (ms since epoch) for `at`. */
  clock?: () => number;
  /** Monotonic clock (ms) for a batch's send budget. */
  now?: () => number;
  /** Called for every event as it is queued (the UI, test hooks). */
  onEvent?: (e: QoeEvent) => void;
  /** Called when a batch could not be sent: refused, or still failing after its tries. */
  onSendError?: (err: unknown, events: QoeEvent[]) => void;
  /** Called when a batch reached the server. */
  onSent?: (events: QoeEvent[], final: boolean) => void;
}

const MAX_BATCH = 200;

/** Events sent in one request, with what `tag` said when they were batched. */
interface Batch {
  events: QoeEvent[];
  tag: unknown;
  /** Its idempotency key, kept by every try and by a final flush's resend of it. */
  id: string;
  /** It reached the server (a resend and the request it stands in for may both answer). */
  delivered?: boolean;
  /** A final flush sends it again (keepalive): the request in flight will be cancelled with the page. */
  takenOver?: boolean;
}
/** A batch is tried at most this often, within this long (a session's events must not wait behind one batch for ever). */
const SEND_TRIES = 5;
const SEND_BUDGET_MS = 20_000;
/** A final batch (a page going away, a session closing) is tried within this long. */
const FINAL_BUDGET_MS = 1_000;
/** `sent` keeps the latest this many events (an overlay's or a test's view; a long session sends tens of thousands). */
const MAX_SENT_KEPT = 10_000;

/** Neighbouring batches with the same tag as one, up to MAX_BATCH events each. */
function mergeAdjacent(batches: Batch[]): Batch[] {
  const out: Batch[] = [];
  for (const b of batches) {
    const last = out.at(-1);
    // A merged batch is new content, under a new id (the server counts an id once, whatever it holds).
    if (last && last.tag === b.tag && last.events.length + b.events.length <= MAX_BATCH) last.events = [...last.events, ...b.events];
    else out.push({ events: [...b.events], tag: b.tag, id: newBatchId() });
  }
  return out;
}

/** A random idempotency key for one batch (22 characters of [A-Za-z0-9_-]). */
function newBatchId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/**
 * Batches QoE events to the control plane: media bytes accumulate and ride on a `progress` event
 * at every flush; urgent events (start, oca_switch, error, stop) are flushed without waiting.
 */
export class EventReporter {
  private queue: QoeEvent[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private inflight: Promise<void> = Promise.resolve();
  /** Batches queued behind the request in flight, not yet handed to `send`. */
  private waiting: Batch[] = [];
  /** The routine batch being sent (or waiting between its tries), not yet delivered. */
  private sending: Batch | null = null;
  private closed = false;
  /** The events handed to `send` successfully, in order, the latest MAX_SENT_KEPT (for test hooks and overlays). */
  readonly sent: QoeEvent[] = [];
  private readonly opts: Required<Omit<ReporterOptions, "onEvent" | "onSendError" | "onSent" | "tag">> &
    Pick<ReporterOptions, "onEvent" | "onSendError" | "onSent" | "tag">;
  /** Filled in by the owner: current position and bitrate for `progress` events. */
  progressFields: () => Partial<QoeEvent> = () => ({});

  constructor(opts: ReporterOptions) {
    this.opts = {
      flushIntervalMs: QOE_BATCH_EVERY_MS,
      maxQueued: 50,
      clock: () => Date.now(),
      now: () => performance.now(),
      ...defined(opts),
      send: opts.send,
    };
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs);
  }

  /** Queue an event (stamped with `at` unless it has one). */
  push(e: QoeEvent): void {
    if (this.closed) return;
    const ev: QoeEvent = { at: this.opts.clock(), ...e };
    this.queue.push(ev);
    this.tell(ev);
    if (this.queue.length >= this.opts.maxQueued || ev.type === "start" || ev.type === "oca_switch" || ev.type === "error" || ev.type === "stop") {
      void this.flush();
    }
  }

  /** The app's `onEvent`: what it throws is its own (logged), never the session's playback. */
  private tell(ev: QoeEvent): void {
    try {
      this.opts.onEvent?.(ev);
    } catch (err) {
      console.error("onEvent threw", err);
    }
  }

  /** Count media bytes received; they go out on the next `progress` event. */
  addBytes(n: number): void {
    if (n > 0) this.pendingBytes += Math.round(n);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Send what is queued (plus a progress event carrying the bytes since the last one). */
  flush(final = false): Promise<void> {
    if (this.pendingBytes > 0) {
      const ev: QoeEvent = { type: "progress", at: this.opts.clock(), ...this.progressFields(), bytes: this.pendingBytes };
      this.pendingBytes = 0;
      this.queue.push(ev);
      this.tell(ev);
    }
    if (final) {
      // The page is going away: batches waiting behind a request the browser is about to cancel would
      // never leave. Everything not yet handed to `send` goes now (keepalive), each batch under the tag
      // it was formed with; each event carries its own time.
      const batches = [...this.waiting];
      this.waiting = [];
      while (this.queue.length) batches.push(this.form());
      // The batch in flight goes too: its request (no keepalive) dies with the page, and its events with
      // it. Alone and under its own id: the server counts it once if the first request got through.
      // It leaves now beside the rest: a request chained behind it would not leave a page gone meanwhile.
      const inflight = this.sending;
      let resend = Promise.resolve();
      if (inflight && !inflight.delivered) {
        inflight.takenOver = true;
        resend = this.sendWithRetry(inflight, true);
      }
      // As few requests as the tags allow (one, as a rule: the stop leaves with what waited before it),
      // the first leaving now, not behind the request in flight; any further ones follow it in order.
      let now = Promise.resolve();
      mergeAdjacent(batches).forEach((batch, i) => {
        now = i === 0 ? this.sendWithRetry(batch, true) : now.then(() => this.sendWithRetry(batch, true));
      });
      now = Promise.all([resend, now]).then(() => {});
      this.inflight = Promise.all([this.inflight, now]).then(() => {});
      return now;
    }
    if (this.queue.length === 0) return this.inflight;
    const batch = this.form();
    this.waiting.push(batch);
    // One request at a time keeps events in order at the server.
    this.inflight = this.inflight.then(() => {
      const at = this.waiting.indexOf(batch);
      if (at < 0) return; // a final flush took it
      this.waiting.splice(at, 1);
      return this.sendWithRetry(batch, false);
    });
    if (this.queue.length) return this.flush();
    return this.inflight;
  }

  /** The next batch off the queue, tagged now. */
  private form(): Batch {
    return { events: this.queue.splice(0, MAX_BATCH), tag: this.opts.tag?.(), id: newBatchId() };
  }

  /**
   * Sends one batch, under one batch id (the server counts a batch once however often it arrives), and
   * tries again when the failure can pass: no answer, 408, 429 or 5xx, after the answer's Retry-After
   * or 250 ms doubling, up to SEND_TRIES tries within SEND_BUDGET_MS (FINAL_BUDGET_MS for a final
   * batch). A final batch holding a stop is tried again before its budget ends even when the answer's
   * Retry-After is longer. A refusal (4xx) is final: sending it again would be refused alike.
   */
  private async sendWithRetry(b: Batch, final: boolean): Promise<void> {
    if (!final) this.sending = b;
    try {
      await this.tryToSend(b, final);
    } finally {
      if (this.sending === b) this.sending = null;
    }
  }

  private async tryToSend(b: Batch, final: boolean): Promise<void> {
    const { events: batch, tag, id: batchId } = b;
    const now = this.opts.now;
    const deadline = now() + (final ? FINAL_BUDGET_MS : SEND_BUDGET_MS);
    // A lost stop holds the member's stream slot until the server's silence release (minutes): on a
    // one-stream plan the next play is refused. The same batch id makes an early retry count once.
    const stop = final && batch.some((e) => e.type === "stop");
    for (let attempt = 0, delay = 250; ; attempt++, delay *= 2) {
      try {
        await this.opts.send(batch, { final, batchId, tag });
        // Counted once: the request a final flush took over and its resend may both get through.
        if (b.delivered) return;
        b.delivered = true;
        this.sent.push(...batch);
        if (this.sent.length > MAX_SENT_KEPT) this.sent.splice(0, this.sent.length - MAX_SENT_KEPT);
        this.opts.onSent?.(batch, final);
        return;
      } catch (err) {
        // Delivered by the other request, or in the final flush's hands now: nothing more to do here.
        if (b.delivered || (!final && b.takenOver)) return;
        const status = (err as { status?: unknown })?.status;
        const transient = typeof status !== "number" || status === 408 || status === 429 || status >= 500;
        const after = (err as { retryAfterS?: unknown })?.retryAfterS;
        const left = deadline - now();
        let wait = Math.max(delay, typeof after === "number" ? after * 1000 : 0);
        if (stop && wait > left && left > 0) wait = left;
        if (!transient || attempt + 1 >= SEND_TRIES || wait > left) {
          this.opts.onSendError?.(err, batch);
          return;
        }
        await new Promise((r) => setTimeout(r, wait));
        if (b.delivered || (!final && b.takenOver)) return;
      }
    }
  }

  /** Flush everything and stop the timer. */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.flush(true);
    this.closed = true;
  }
}
