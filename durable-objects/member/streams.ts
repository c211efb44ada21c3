import { STOP_GRACE_MS, STOP_HOLD_MS } from "../../shared/stream-touch";

export { STOP_GRACE_MS, STOP_HOLD_MS };
import { rows, run } from "../site/sql";
import { keepLimit, keptLimit } from "./kept-limit";

/**
 * A member's concurrent streams, kept by a StreamBook over the member object's storage (so tests and
 * the object call the same code). A stream counts from its play until its client says it stopped, its
 * token expires, or it has shown no activity (steering polls, QoE batches, segments) for SILENCE_MS.
 */

/** A stream with no steering poll, QoE batch or segment served for this long no longer counts (touches come at most once a minute per isolate: it goes 1 to 2 minutes after its last activity). */
export const SILENCE_MS = 120_000;

/**
 * The `streams` table. Each row also keeps the plan's limit its play was given (`stream_limit`) and,
 * for a stream that stopped, when (`stopped_at`): an object that restarts (a deploy restarts them
 * all) then still knows the limit, and still refuses a stopped stream that plays on. WITHOUT ROWID:
 * the rows live in the session id's own b-tree, so a new member's first play creates and writes one
 * b-tree, not a table and its key's index (bench:play's admission call: about 0.85 of a bare object call
 * before, 0.92 and 0.94 after, in runs of 6 rounds). A table made before keeps its form.
 */
export const STREAMS_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS streams (
     session_id TEXT PRIMARY KEY, title_id TEXT NOT NULL, started_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     stream_limit INTEGER, stopped_at INTEGER) WITHOUT ROWID`,
];

/** What a table made before `stream_limit` and `stopped_at` needs (each added column NULL in old rows). */
export const STREAMS_MIGRATION = [`ALTER TABLE streams ADD COLUMN stream_limit INTEGER`, `ALTER TABLE streams ADD COLUMN stopped_at INTEGER`];

const SELECT_STREAMS = `SELECT session_id, title_id, started_at, last_seen, expires_at, stream_limit, stopped_at FROM streams ORDER BY started_at`;

type StreamTableRow = {
  session_id: string;
  title_id: string;
  started_at: number;
  last_seen: number;
  expires_at: number;
  stream_limit: number | null;
  stopped_at: number | null;
};

/** Length of the play-rate window. */
export const PLAY_WINDOW_MS = 60_000;

export interface ActiveStream {
  sessionId: string;
  titleId: string;
  startedAt: number;
  lastSeenAt: number;
}

/**
 * What the member's object says to a play: a slot, a full plan, or too many plays this minute. A full
 * plan's `stoppedHolding`: streams their clients stopped lately that still hold their slots, the member's handovers spent (see HANDOVERS_PER_HOUR).
 */
export type Admission =
  | { verdict: "granted"; active: ActiveStream[] }
  | { verdict: "full"; active: ActiveStream[]; stoppedHolding?: number }
  | { verdict: "rate_limited"; retryAfterS: number };

/**
 * The member's plays in the current one-minute window, counted in the object's memory and, once a
 * window holds PLAYS_KEPT_FROM plays, kept in the `streams` table too (PLAYS_ROW), read back with the
 * table when the object restarts. The runtime hibernates an object 10 s after its last call and drops
 * its memory: a flood that paused that long between bursts found a fresh count each time. Not a table of
 * its own, nor a write of every play: a second table in a new member's database cost each play about
 * 2.5 ms of workerd CPU locally (bench:play's admission call fell to 0.71 of a bare object call with it),
 * and a member's first plays in a minute, far from the limit, write nothing beside their slot.
 */
export interface PlayWindow {
  start: number;
  plays: number;
}

/**
 * Plays in a window from which each counted play writes the count (PLAYS_ROW), in the commit of its
 * slot when it takes one. A restart forgets at most the 4 plays below it, and an object restarts about
 * six times a minute at most (each after some 10 s without a call): at most 60 + 6 × 4 plays a minute,
 * where the count in memory alone let a flood play 60 after each restart.
 */
export const PLAYS_KEPT_FROM = 5;
/**
 * The play window's row in the `streams` table (no session id has a colon): `started_at` the window's
 * start, `last_seen` its plays, `expires_at` its end (it goes with the streams that expire). Stopped at 0:
 * silence never takes it, and code from before the row, reading it as a stream stopped long ago, holds
 * no slot for it. One row, replaced by each write.
 */
const PLAYS_ROW = "plays:";

/**
 * Counts a play in the member's fixed one-minute window (every attempt counts, granted or not); not
 * ok when the window already holds `perWindow` plays.
 */
export function countPlay(window: PlayWindow, perWindow: number, now: number): { ok: boolean; retryAfterS: number } {
  const start = now - (now % PLAY_WINDOW_MS);
  if (window.start !== start) {
    window.start = start;
    window.plays = 0;
  }
  const retryAfterS = Math.max(1, Math.ceil((start + PLAY_WINDOW_MS - now) / 1000));
  if (window.plays >= perWindow) return { ok: false, retryAfterS };
  window.plays++;
  return { ok: true, retryAfterS };
}

/** Takes the count kept in storage (read back after a restart), unless memory's is of a later window or as high. */
export function resumePlays(window: PlayWindow, kept: PlayWindow | null): void {
  if (kept === null || kept.start < window.start || (kept.start === window.start && kept.plays <= window.plays)) return;
  window.start = kept.start;
  window.plays = kept.plays;
}

interface StreamRow extends ActiveStream {
  expiresAt: number;
}

/** A counted stream no longer counts at `now`: silent past SILENCE_MS, or its token expired (the same test as the table's DELETE in expire). */
const goneAt = (r: StreamRow, now: number): boolean => r.lastSeenAt < now - SILENCE_MS || r.expiresAt <= now;

/**
 * What the member's object knows beside its counted streams: the plan's limit as the last play gave it,
 * and the sessions that stopped (a stop event, or an operator freeing the slot), so their activity
 * does not bring them back. Both are read back from the table's rows when the object (re)starts: the
 * newest row's limit, and the rows of stopped streams (kept until their token expires). A stop of a
 * stream the book no longer held (it had gone silent) is written as a stopped row too when the stop says
 * the stream's title and token expiry (a client's stop does; an operator's frees held slots only). An object
 * whose rows carry no limit reads the one kept as rows with live tokens went (see kept-limit.ts); with
 * none, it knows no limit until the member's next play, and meanwhile leaves activity of streams it does
 * not hold undecided (it fails open, as the play path does). The hour's handovers are read back too
 * (HANDOVER_ROW), and a stop read back counts as its client's (the table does not say who stopped it):
 * the object hibernates after 10 s without a call, and what bounds the stop-and-play-on loop must outlive that.
 */
export interface StreamMemory {
  limit: number | null;
  /** Stopped sessions, with when they stopped. */
  stopped: Map<string, number>;
  /**
   * Those of them its client stopped first (a stop event), as this object heard them: they may still be
   * served for STOP_HOLD_MS. An operator's release, or a failed play's, frees its slot outright.
   */
  clientStopped: Set<string>;
  /** When the member's plays took a slot a stopped stream would otherwise still hold, in the last hour (see HANDOVERS_PER_HOUR). */
  handovers: number[];
  /** The play window as the table kept it (PLAYS_ROW), read with the table; null when it kept none. */
  keptPlays: PlayWindow | null;
}

/** What a member's object knows before it reads its table. */
export const newStreamMemory = (): StreamMemory => ({ limit: null, stopped: new Map(), clientStopped: new Set(), handovers: [], keptPlays: null });

/** Stopped sessions remembered per member: far more than a member stops within a token's life. */
const STOPPED_MAX = 256;

/**
 * A stop frees its slot at once, so that a viewer may stop one title and play another. But isolates
 * hear of a stop only at their next touch, up to a minute later (and the stop's grace lets a stopped
 * stream be served 30 s in any case): a client could play, stop, stream on, and play again, holding
 * dozens of streams on a one-stream plan. Whether a stopped stream plays on is known too late to act on,
 * so instead the handovers are counted: a play, or a stream back from a silence, that takes a slot a
 * stream its client stopped within STOP_HOLD_MS would otherwise still hold. A member has HANDOVERS_PER_HOUR of them in any hour (far more
 * than anyone zaps between titles, or renews); past that, a stopped stream holds its slot for
 * STOP_HOLD_MS. The loop then gains at most that many stopped streams' last minute and a half an hour.
 * Kept in memory and, each as it is spent, in the table (HANDOVER_ROW): the runtime hibernates an object
 * 10 s after its last call and drops its memory, so a loop that paused that long before each play would
 * otherwise start every hour afresh (and find no stop holding a slot).
 */
export const HANDOVERS_PER_HOUR = 30;
const HANDOVER_WINDOW_MS = 3_600_000;
/**
 * A handover's row in the `streams` table: the stream's session id and the time under this prefix (no
 * session id has a colon), stopped when written (so silence never takes it, nor does the book count it)
 * and expiring with its hour. A handover writes it with the slot, and prunes the expired ones; no other
 * play writes more.
 */
const HANDOVER_ROW = "handover:";
/** Just past every handover row's key (';' follows ':'). */
const HANDOVER_ROW_END = "handover;";

/**
 * What a stream's activity found: it holds a slot (`counted`); it had lost its slot to silence and a
 * slot was free (`readmitted`); it stopped, or every slot is taken (`refused`); or the object cannot
 * tell, not knowing the plan's limit since it restarted (`unknown`).
 */
export type TouchVerdict = "counted" | "readmitted" | "refused" | "unknown";

/**
 * The member's streams: the `streams` table, read once into memory when the object first needs it and
 * written through on every change (the object is the table's only writer). An admission then costs one
 * write and no read. The table is created when first needed, not in the object's constructor: a new
 * member's first play then commits once (table and slot together) instead of twice, and bench:play's
 * admission call went from 0.84 of a bare object call to about 1.0.
 */
export class StreamBook {
  /** The table as read once, kept alike with it by every write below; null until first needed. */
  private cached: Map<string, StreamRow> | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly memory: StreamMemory = newStreamMemory(),
  ) {}

  private load(): Map<string, StreamRow> {
    if (this.cached) return this.cached;
    const all = this.readTable();
    const table = all.filter((r) => !r.session_id.startsWith(HANDOVER_ROW) && r.session_id !== PLAYS_ROW);
    const plays = all.find((r) => r.session_id === PLAYS_ROW);
    if (plays) this.memory.keptPlays = { start: plays.started_at, plays: plays.last_seen };
    // The newest play's limit is the plan's as the object last heard it.
    this.memory.limit ??= [...table].reverse().find((r) => r.stream_limit !== null)?.stream_limit ?? null;
    // Stopped ones in the order they stopped (the memory drops the oldest first). One the memory did not
    // know (the object restarted) counts as its client's stop: it holds its slot for what is left of STOP_HOLD_MS.
    for (const r of table.filter((r) => r.stopped_at !== null).sort((a, b) => a.stopped_at! - b.stopped_at!)) {
      if (this.memory.stopped.has(r.session_id)) continue;
      this.memory.stopped.set(r.session_id, r.stopped_at!);
      this.memory.clientStopped.add(r.session_id);
    }
    // The handovers spent, oldest first (acquire forgets those past the hour).
    if (this.memory.handovers.length === 0) {
      this.memory.handovers.push(
        ...all
          .filter((r) => r.session_id.startsWith(HANDOVER_ROW))
          .map((r) => r.started_at)
          .sort((a, b) => a - b),
      );
    }
    this.cached = new Map(
      table
        .filter((r) => r.stopped_at === null)
        .map((r) => [
          r.session_id,
          { sessionId: r.session_id, titleId: r.title_id, startedAt: r.started_at, lastSeenAt: r.last_seen, expiresAt: r.expires_at },
        ]),
    );
    return this.cached;
  }

  /**
   * Every row, oldest first; creates the table when there is none (with the caller's write, a new
   * member's first play then commits once), and adds the columns a table made before them lacks (the
   * read fails once, for such a table alone: an exception costs a new member's play too much to
   * probe with one). Synchronous with the caller's write: nothing interleaves between creating the
   * table and using it.
   */
  private readTable(): StreamTableRow[] {
    for (const stmt of STREAMS_SCHEMA) this.sql.exec(stmt);
    try {
      return rows<StreamTableRow>(this.sql, SELECT_STREAMS);
    } catch {
      for (const stmt of STREAMS_MIGRATION) this.sql.exec(stmt);
      return rows<StreamTableRow>(this.sql, SELECT_STREAMS);
    }
  }

  /**
   * Forgets streams that stopped showing activity or whose token expired, and stopped streams whose
   * token expired (a write only when a counted stream goes).
   */
  private expire(now: number): Map<string, StreamRow> {
    const book = this.load();
    const gone = [...book.values()].filter((r) => goneAt(r, now));
    if (gone.length > 0) {
      // Stops whose token expired go from memory with their rows (see release).
      const deleted = rows<{ session_id: string }>(
        this.sql,
        `DELETE FROM streams WHERE (stopped_at IS NULL AND last_seen < ?) OR expires_at <= ? RETURNING session_id`,
        now - SILENCE_MS,
        now,
      );
      for (const { session_id } of deleted) {
        this.memory.stopped.delete(session_id);
        this.memory.clientStopped.delete(session_id);
      }
      for (const r of gone) book.delete(r.sessionId);
      // A silent stream may come back until its token expires: the limit that decides it outlives its row.
      const until = Math.max(0, ...gone.map((r) => r.expiresAt));
      if (until > now && this.memory.limit !== null) keepLimit(this.sql, this.memory.limit, until);
    }
    return book;
  }

  /** The streams that count at `now`, oldest first. */
  active(now: number): ActiveStream[] {
    return [...this.expire(now).values()]
      .sort((x, y) => x.startedAt - y.startedAt)
      .map(({ sessionId, titleId, startedAt, lastSeenAt }) => ({ sessionId, titleId, startedAt, lastSeenAt }));
  }

  /**
   * Admits a new stream: counts the play against `limits.playsPerWindow`, then takes a slot if fewer
   * than `limits.streams` count. Synchronous, so nothing interleaves between the count and the write.
   */
  acquire(
    window: PlayWindow,
    s: { sessionId: string; titleId: string; expiresAt: number },
    limits: { streams: number; playsPerWindow: number },
    now: number,
  ): Admission {
    // The table read first: after a restart it holds the window's count, if the window kept one.
    this.load();
    resumePlays(window, this.memory.keptPlays);
    const rate = countPlay(window, limits.playsPerWindow, now);
    if (!rate.ok) return { verdict: "rate_limited", retryAfterS: rate.retryAfterS };
    // A refused play counts nothing more, so it writes nothing; a counted one from the threshold keeps the count.
    if (window.plays >= Math.min(PLAYS_KEPT_FROM, limits.playsPerWindow)) {
      run(
        this.sql,
        `INSERT OR REPLACE INTO streams (session_id, title_id, started_at, last_seen, expires_at, stopped_at) VALUES (?, '', ?, ?, ?, ?)`,
        PLAYS_ROW,
        window.start,
        window.plays,
        window.start + PLAY_WINDOW_MS,
        0,
      );
    }
    this.memory.limit = limits.streams;
    const current = this.active(now).filter((a) => a.sessionId !== s.sessionId);
    // Released before its admission arrived (a play that failed while this object was slow): no slot.
    if (this.memory.stopped.has(s.sessionId)) return { verdict: "full", active: current };
    if (current.length >= limits.streams) return { verdict: "full", active: current };
    const held = this.handOver(s.sessionId, s.titleId, current.length, limits.streams, now);
    if (held > 0) return { verdict: "full", active: current, stoppedHolding: held };
    run(
      this.sql,
      `INSERT OR REPLACE INTO streams (session_id, title_id, started_at, last_seen, expires_at, stream_limit) VALUES (?, ?, ?, ?, ?, ?)`,
      s.sessionId,
      s.titleId,
      now,
      now,
      s.expiresAt,
      limits.streams,
    );
    const row = { sessionId: s.sessionId, titleId: s.titleId, startedAt: now, lastSeenAt: now, expiresAt: s.expiresAt };
    const book = this.load();
    book.delete(s.sessionId);
    book.set(s.sessionId, row);
    return { verdict: "granted", active: [...current, { sessionId: row.sessionId, titleId: row.titleId, startedAt: now, lastSeenAt: now }] };
  }

  /**
   * A stream (a play, or one back from a silence) about to take a free slot beside `counted` streams:
   * a slot a stream its client stopped lately may still be served on is a handover, within the
   * member's budget, written with the slot (one commit). Answers 0 when the slot may be taken, else the
   * stopped streams that hold it (the hour's handovers are spent). The returning stream counts too: a
   * pool of paused sessions (each a play left silent) looped "resume one, stop it, resume the next"
   * with no handover at all, as plays once did.
   */
  private handOver(sessionId: string, titleId: string, counted: number, limit: number, now: number): number {
    const holding = this.stopsHolding(now);
    if (counted + holding < limit) return 0;
    const h = this.memory.handovers;
    while (h.length > 0 && h[0] <= now - HANDOVER_WINDOW_MS) h.shift();
    if (h.length >= HANDOVERS_PER_HOUR) return holding;
    h.push(now);
    // The hour's expired ones gone: at most an hour's rows. Keyed by time too: a session back from
    // silence twice in an hour spends two, and keeps both.
    run(this.sql, `DELETE FROM streams WHERE session_id >= ? AND session_id < ? AND expires_at <= ?`, HANDOVER_ROW, HANDOVER_ROW_END, now);
    run(
      this.sql,
      `INSERT OR REPLACE INTO streams (session_id, title_id, started_at, last_seen, expires_at, stopped_at) VALUES (?, ?, ?, ?, ?, ?)`,
      `${HANDOVER_ROW}${sessionId}@${now}`,
      titleId,
      now,
      now,
      now + HANDOVER_WINDOW_MS,
      now,
    );
    return 0;
  }

  /** Streams the member's clients stopped within STOP_HOLD_MS: they may still be served where isolates have not heard. */
  private stopsHolding(now: number): number {
    const m = this.memory;
    let n = 0;
    for (const [sessionId, at] of m.stopped) if (at > now - STOP_HOLD_MS && m.clientStopped.has(sessionId)) n++;
    return n;
  }

  /**
   * Activity of a stream (`s`: its title and token expiry). A stream the book holds keeps counting. One
   * that went silent (its row still in memory or not) and comes back (a long pause) takes a free slot again (a handover when a stream
   * its client stopped lately may still be served on it), or is refused when the member's other streams
   * hold every slot, or stopped ones past the hour's handovers do; a stopped one is refused once STOP_GRACE_MS have passed: a
   * client cannot free its slot with a stop and play on. Synchronous, like an admission.
   */
  touch(sessionId: string, now: number, s?: { titleId: string; expiresAt: number }): TouchVerdict {
    const row = this.load().get(sessionId);
    if (row && !goneAt(row, now)) {
      if (row.lastSeenAt < now) {
        run(this.sql, `UPDATE streams SET last_seen = ? WHERE session_id = ?`, now, sessionId);
        row.lastSeenAt = now;
      }
      return "counted";
    }
    // A row gone silent (or past its token) stays in memory until something looks at the clock, yet it
    // lost its slot: it comes back as one no longer held would (active() below drops it), stops holding
    // the slot and the hour's handovers included. Its own title and expiry stand in for a touch without them.
    if (row) s ??= row;
    const stoppedAt = this.memory.stopped.get(sessionId);
    if (stoppedAt !== undefined) return now - stoppedAt < STOP_GRACE_MS ? "unknown" : "refused";
    if (!s || s.expiresAt <= now) return "unknown";
    // No row carries the limit (the object restarted after they went): the one kept with their going.
    this.memory.limit ??= keptLimit(this.sql, now);
    if (this.memory.limit === null) return "unknown";
    const counted = this.active(now).length;
    if (counted >= this.memory.limit || this.handOver(sessionId, s.titleId, counted, this.memory.limit, now) > 0) return "refused";
    run(
      this.sql,
      `INSERT INTO streams (session_id, title_id, started_at, last_seen, expires_at, stream_limit) VALUES (?, ?, ?, ?, ?, ?)`,
      sessionId,
      s.titleId,
      now,
      now,
      s.expiresAt,
      this.memory.limit,
    );
    this.load().set(sessionId, { sessionId, titleId: s.titleId, startedAt: now, lastSeenAt: now, expiresAt: s.expiresAt });
    return "readmitted";
  }

  /**
   * The stream stopped (its client said so, or an operator freed its slot): it no longer counts, and its
   * activity is refused. `s` (the stream's title and token expiry, from a client's signed session) lets a
   * stop of a stream the book no longer holds (it had gone silent) outlive a restart of the object too.
   * An operator's release answers true only when the stream counted until now (not silent past SILENCE_MS, token not expired).
   */
  release(sessionId: string, now = Date.now(), s?: { titleId: string; expiresAt: number }, by: "client" | "failed_play" = "client"): boolean {
    // An operator's release (no `s`) answers whether it freed a slot, so it reads the book as it stands
    // at `now`: a stream silent past SILENCE_MS stays in memory until something looks at the clock, and
    // its DELETE answered 200 for a slot it no longer held. A client's stop marks the stream stopped
    // either way (its answer is not read).
    const book = s ? this.load() : this.expire(now);
    // An operator frees held slots only: a session the book does not hold is left as it was.
    if (!s && !book.has(sessionId)) return false;
    const { stopped, clientStopped } = this.memory;
    // With this write, the stops whose token expired go (no request of theirs is served anywhere): only
    // a counted stream going took them before, and a household whose players always stop kept
    // STOPPED_MAX rows for ever, each read back at every wake of its object.
    for (const { session_id } of rows<{ session_id: string }>(
      this.sql,
      `DELETE FROM streams WHERE stopped_at IS NOT NULL AND expires_at <= ? RETURNING session_id`,
      now,
    )) {
      stopped.delete(session_id);
      clientStopped.delete(session_id);
    }
    if (!stopped.has(sessionId)) {
      stopped.set(sessionId, now);
      // Its client's stop (the first word on it) may leave it served a while; an operator's or a failed
      // play's does not, nor one whose token has expired (a tab's last batch, sent as its session ended).
      if (s && by === "client" && s.expiresAt > now) clientStopped.add(sessionId);
    }
    if (stopped.size > STOPPED_MAX) {
      const oldest = stopped.keys().next().value as string;
      stopped.delete(oldest);
      clientStopped.delete(oldest);
      run(this.sql, `DELETE FROM streams WHERE session_id = ? AND stopped_at IS NOT NULL`, oldest);
    }
    if (!book.has(sessionId)) {
      // A row of its own, already stopped (the row of an earlier stop stays as it is); it goes when its token expires.
      if (s && s.expiresAt > now) {
        run(
          this.sql,
          `INSERT OR IGNORE INTO streams (session_id, title_id, started_at, last_seen, expires_at, stopped_at) VALUES (?, ?, ?, ?, ?, ?)`,
          sessionId,
          s.titleId,
          now,
          now,
          s.expiresAt,
          stopped.get(sessionId) ?? now,
        );
      }
      return false;
    }
    // The row stays, marked, until its token expires: a restarted object still refuses the stream.
    run(this.sql, `UPDATE streams SET stopped_at = ? WHERE session_id = ?`, stopped.get(sessionId) ?? now, sessionId);
    book.delete(sessionId);
    return true;
  }
}
