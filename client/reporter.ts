import { QOE_BATCH_BYTES_MAX, QOE_BATCH_EVERY_MS, QOE_EVENT_TYPES, QOE_OCA_ID_MAX, QOE_REASON_MAX } from "../shared/qoe-batch";
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
  /**
   * Called when a batch will not be sent: refused, or dropped from the backlog of an outage (too old,
   * too many events, its session expired at the server), or still failing when the reporter closed.
   */
  onSendError?: (err: unknown, events: QoeEvent[]) => void;
  /** Called when a batch reached the server. */
  onSent?: (events: QoeEvent[], final: boolean) => void;
}

const MAX_BATCH = 200;

const utf8 = new TextEncoder();
/** An event's share of a batch's body: its JSON and a comma. */
const eventBytes = (e: QoeEvent): number => utf8.encode(JSON.stringify(e)).length + 1;
/** Whether two batches' events fit one batch (MAX_BATCH events, QOE_BATCH_BYTES_MAX bytes). */
const fitTogether = (a: Batch, b: Batch): boolean => a.events.length + b.events.length <= MAX_BATCH && a.bytes + b.bytes <= QOE_BATCH_BYTES_MAX;

/**
 * An event as the server takes it: an app's `reason` longer than the server allows is cut (the server
 * refuses the whole batch for one, a stop beside it lost), an OCA id longer than any is left out.
 */
function withinSchema(e: QoeEvent): QoeEvent {
  const out = { ...e };
  if (typeof out.reason === "string" && out.reason.length > QOE_REASON_MAX) out.reason = out.reason.slice(0, QOE_REASON_MAX);
  if (typeof out.ocaId === "string" && out.ocaId.length > QOE_OCA_ID_MAX) delete out.ocaId;
  if (typeof out.fromOcaId === "string" && out.fromOcaId.length > QOE_OCA_ID_MAX) delete out.fromOcaId;
  return out;
}

/** Events sent in one request, with what `tag` said when they were batched. */
interface Batch {
  events: QoeEvent[];
  /** Its events' share of a body (eventBytes summed), counted once when formed and added up on a merge. */
  bytes: number;
  tag: unknown;
  /** Its idempotency key, kept by every try and by a final flush's resend of it. */
  id: string;
  /** It reached the server (a resend and the request it stands in for may both answer). */
  delivered?: boolean;
  /** A final flush sends it again (keepalive): the request in flight will be cancelled with the page. */
  takenOver?: boolean;
  /** Handed to `send` at least once: the server may hold its id, so its events never join another batch. */
  tried?: boolean;
  /** Its place in the order of forming: a batch kept after a failure goes back in it. */
  seq: number;
  /** When it was formed (monotonic ms), for the backlog's age limit. */
  formedAt: number;
}
/** A batch is tried at most this often, within this long, before it waits in the backlog. */
const SEND_TRIES = 5;
const SEND_BUDGET_MS = 20_000;
/** A final batch (a page going away, a session closing) is tried within this long. */
const FINAL_BUDGET_MS = 1_000;
/**
 * Batches that failed in a way that can pass (no answer, 408, 429, 5xx) wait, in order, for the
 * network's return: the first is tried once every this long (or after its Retry-After), nothing behind
 * it before it. While the network is down a session asks no more than its usual batch pace.
 */
const BACKLOG_RETRY_MS = QOE_BATCH_EVERY_MS;
/**
 * The backlog's bounds, the oldest batches dropped first. Events: a session makes a progress every 10 s
 * and a few more (rebuffers, switches, errors), so 1,000 is an hour's outage and more, little memory on a
 * phone over a long session, and within what the server takes after it (400 plus one a second of the
 * session's age). Age: an hour, longer than any outage a playing session lives through; the server's
 * own limit (5 minutes after the session's expiry) is its 410, which drops that session's batches.
 */
const MAX_BACKLOG_EVENTS = 1_000;
const MAX_BACKLOG_AGE_MS = 3_600_000;
/** `sent` keeps the latest this many events (an overlay's or a test's view; a long session sends tens of thousands). */
const MAX_SENT_KEPT = 10_000;

/** Neighbouring batches with the same tag as one, as far as they fit one batch. */
function mergeAdjacent(batches: Batch[]): Batch[] {
  const out: Batch[] = [];
  for (const b of batches) {
    const last = out.at(-1);
    // One already tried goes alone under its own id: the server may have stored it.
    if (b.tried) out.push(b);
    // A merged batch is new content, under a new id (the server counts an id once, whatever it holds).
    else if (last && !last.tried && last.tag === b.tag && fitTogether(last, b)) {
      last.events = [...last.events, ...b.events];
      last.bytes += b.bytes;
    } else out.push({ events: [...b.events], bytes: b.bytes, tag: b.tag, id: newBatchId(), seq: b.seq, formedAt: b.formedAt });
  }
  return out;
}

/** Resolves when `p` settles or after `ms`, whichever comes first. */
function settledOrAfter(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((r) => {
    timer = setTimeout(r, ms);
  });
  return Promise.race([p.then(() => {}), late]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
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
  /**
   * Batches not yet handed to `send` (or kept after a failure that can pass), in the order formed: those
   * behind the request in flight, and the backlog of an outage.
   */
  private waiting: Batch[] = [];
  /** The routine batch being sent (or waiting between its tries), not yet delivered. */
  private sending: Batch | null = null;
  /** The run sending `waiting`, one request at a time, while there is one. */
  private pumping: Promise<void> | null = null;
  /** Final flushes' requests, still running. */
  private finals: Promise<void> = Promise.resolve();
  /** The first waiting batch failed for a while: nothing leaves until this timer tries it again. */
  private backlogTimer: ReturnType<typeof setTimeout> | null = null;
  private formed = 0;
  /** close() began: its final flush is the last batch, anything pushed after it is refused. */
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

  /** Queue an event (stamped with `at` unless it has one); one of a type the server does not take goes to `onSendError`. */
  push(e: QoeEvent): void {
    if (this.closed) return;
    // An app's event of a type the server does not take would make it refuse the whole batch, a stop
    // beside it lost: it is handed back as not sent instead.
    if (!(QOE_EVENT_TYPES as readonly unknown[]).includes(e?.type)) {
      this.opts.onSendError?.(new Error(`QoE event of unknown type ${JSON.stringify(String(e?.type)).slice(0, 80)} not sent`), [e]);
      return;
    }
    const ev: QoeEvent = withinSchema({ at: this.opts.clock(), ...e });
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
    if (n > 0 && !this.closed) this.pendingBytes += Math.round(n);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Send what is queued (plus a progress event carrying the bytes since the last one). */
  flush(final = false): Promise<void> {
    // Closing: its final flush took everything, and nothing leaves after the session's last batch.
    if (this.closed && !final) return this.settled();
    if (this.pendingBytes > 0) {
      const ev: QoeEvent = { type: "progress", at: this.opts.clock(), ...this.progressFields(), bytes: this.pendingBytes };
      this.pendingBytes = 0;
      this.queue.push(ev);
      this.tell(ev);
    }
    if (final) {
      // The page is going away: batches waiting behind a request the browser is about to cancel (or for
      // the network's return) would never leave. Everything not yet handed to `send` goes now (keepalive),
      // each batch under the tag it was formed with; each event carries its own time.
      const batches = this.waiting.splice(0);
      this.unblock();
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
      // the first leaving now, not behind the request in flight; any further ones follow it in order,
      // each once the one before settled or had its second: an outage's backlog on a network that
      // answers nothing must not hold a close for a call timeout (15 s) per batch, nor keep its stop back.
      const sends = [resend];
      let prev: Promise<void> | null = null;
      for (const batch of mergeAdjacent(batches)) {
        const send: Promise<void> =
          prev === null ? this.sendWithRetry(batch, true) : settledOrAfter(prev, FINAL_BUDGET_MS).then(() => this.sendWithRetry(batch, true));
        sends.push(send);
        prev = send;
      }
      const now = Promise.all(sends).then(() => {});
      this.finals = Promise.all([this.finals, now]).then(() => {});
      return now;
    }
    while (this.queue.length) this.enqueue(this.form());
    return this.settled();
  }

  /** Resolves when every batch formed so far was delivered, dropped, or is waiting for the network's return. */
  private settled(): Promise<void> {
    return Promise.all([this.pump(), this.finals]).then(() => {});
  }

  /** The next batch off the queue, tagged now. */
  private form(): Batch {
    // At least one event, then as many as fit MAX_BATCH and QOE_BATCH_BYTES_MAX.
    let n = 1;
    let bytes = eventBytes(this.queue[0]);
    for (const limit = Math.min(MAX_BATCH, this.queue.length); n < limit; n++) {
      const next = eventBytes(this.queue[n]);
      if (bytes + next > QOE_BATCH_BYTES_MAX) break;
      bytes += next;
    }
    return { events: this.queue.splice(0, n), bytes, tag: this.opts.tag?.(), id: newBatchId(), seq: this.formed++, formedAt: this.opts.now() };
  }

  /**
   * Queues a batch to be sent in order. Behind the next to leave (an outage's backlog), it joins the last
   * batch waiting when that one was never tried and has room: an outage's batches leave as few requests.
   */
  private enqueue(b: Batch): void {
    const last = this.waiting.length > 1 ? this.waiting.at(-1) : undefined;
    if (last && !last.tried && last.tag === b.tag && fitTogether(last, b)) {
      last.events.push(...b.events);
      last.bytes += b.bytes;
    } else this.waiting.push(b);
    this.trim();
  }

  /** Drops the oldest waiting batches past the backlog's bounds (events, age). */
  private trim(): void {
    let events = this.waiting.reduce((n, b) => n + b.events.length, 0);
    while (this.waiting.length) {
      const b = this.waiting[0];
      const old = this.opts.now() - b.formedAt > MAX_BACKLOG_AGE_MS;
      if (!old && events <= MAX_BACKLOG_EVENTS) break;
      this.waiting.shift();
      events -= b.events.length;
      this.opts.onSendError?.(new Error(old ? "QoE backlog: batch older than an hour dropped" : "QoE backlog full: oldest batch dropped"), b.events);
    }
  }

  /** Sends the waiting batches one at a time, in order, unless the first waits for the network's return. */
  private pump(): Promise<void> {
    this.trim();
    if (this.pumping) return this.pumping;
    if (this.closed || this.backlogTimer !== null || !this.waiting.length) return Promise.resolve();
    // run() awaits before anything else, so `pumping` is cleared after it is set, never before.
    this.pumping = this.run();
    return this.pumping;
  }

  private async run(): Promise<void> {
    try {
      // A tick first: a final flush called in the same turn (push(stop), then close()) takes the batch
      // whole, in one keepalive request, rather than race a routine request for it.
      await Promise.resolve();
      while (!this.closed && this.backlogTimer === null) {
        const b = this.waiting.shift();
        if (!b) break;
        // A batch kept by a final flush may have got through by its first request meanwhile.
        if (!b.delivered) await this.sendWithRetry(b, false);
        else await Promise.resolve();
        this.trim();
      }
    } finally {
      this.pumping = null;
    }
  }

  /** A failure that can pass: the batch waits in its place, and nothing leaves before it is tried again. */
  private keep(b: Batch, err: unknown): void {
    if (this.closed) {
      this.opts.onSendError?.(err, b.events);
      return;
    }
    // A fresh request (the final flush's, which took it over, failed too) owns it now.
    b.takenOver = false;
    if (!this.waiting.includes(b)) {
      const at = this.waiting.findIndex((w) => w.seq > b.seq);
      this.waiting.splice(at < 0 ? this.waiting.length : at, 0, b);
    }
    const after = (err as { retryAfterS?: unknown })?.retryAfterS;
    const wait = Math.min(2_147_000_000, Math.max(BACKLOG_RETRY_MS, typeof after === "number" ? after * 1000 : 0));
    this.unblock();
    this.backlogTimer = setTimeout(() => {
      this.backlogTimer = null;
      void this.pump();
    }, wait);
    this.trim();
  }

  private unblock(): void {
    if (this.backlogTimer !== null) clearTimeout(this.backlogTimer);
    this.backlogTimer = null;
  }

  /**
   * Sends one batch, under one batch id (the server counts a batch once however often it arrives), and
   * tries again when the failure can pass: no answer, 408, 429 or 5xx, after the answer's Retry-After
   * or 250 ms doubling, up to SEND_TRIES tries within SEND_BUDGET_MS (FINAL_BUDGET_MS for a final
   * batch; one try for a batch already kept), then keeps it for the network's return (`keep`), except
   * when closing. A final batch holding a stop is tried again before its budget ends even when the
   * answer's Retry-After is longer. A refusal (4xx) is final: sending it again would be refused alike.
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
    // A kept batch leads the backlog: one try a round, so an outage costs one request a round.
    const tries = b.tried && !final ? 1 : SEND_TRIES;
    for (let attempt = 0, delay = 250; ; attempt++, delay *= 2) {
      b.tried = true;
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
        if (!transient) {
          this.opts.onSendError?.(err, batch);
          // The server no longer takes the session's batches (expired over 5 minutes ago): none of its others will be.
          if (status === 410) this.dropTagged(tag, err);
          return;
        }
        if (attempt + 1 >= tries || wait > left) {
          this.keep(b, err);
          return;
        }
        await new Promise((r) => setTimeout(r, wait));
        if (b.delivered || (!final && b.takenOver)) return;
      }
    }
  }

  /** Drops the waiting batches formed under `tag`. */
  private dropTagged(tag: unknown, err: unknown): void {
    const gone = this.waiting.filter((w) => w.tag === tag);
    this.waiting = this.waiting.filter((w) => w.tag !== tag);
    for (const w of gone) this.opts.onSendError?.(err, w.events);
  }

  /**
   * Flush everything and stop the timers. Pushes are refused from the start: the final flush holds the
   * session's last batch (its stop), and an event after it would stay queued, or leave after the stop.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.flush(true);
  }
}
