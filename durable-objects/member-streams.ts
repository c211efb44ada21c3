import { DurableObject } from "cloudflare:workers";
import * as streams from "./member/streams";

export type { ActiveStream, Admission } from "./member/streams";

/**
 * One Durable Object per member (addressed by member id): the member's concurrent streams, so the
 * plan's limit is enforced without any shared database, and the load spreads with the members.
 */
export class MemberStreams extends DurableObject<Env> {
  private readonly book: streams.StreamBook;
  /** The member's play rate (in memory, and in storage from PLAYS_KEPT_FROM plays a window: see PlayWindow). */
  private readonly plays: streams.PlayWindow = { start: 0, plays: 0 };
  /** The plan's limit and the stopped sessions, as the book last read or set them (see StreamMemory). */
  private readonly memory: streams.StreamMemory = streams.newStreamMemory();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // No schema set-up here: the book creates its table when first needed (see StreamBook).
    this.book = new streams.StreamBook(ctx.storage.sql, this.memory);
  }

  /** Counts the play against the member's play rate, then takes a slot when fewer than `limits.streams` count. */
  async acquire(s: { sessionId: string; titleId: string; expiresAt: number }, limits: { streams: number; playsPerWindow: number }): Promise<streams.Admission> {
    return this.book.acquire(this.plays, s, limits, Date.now());
  }

  /** Activity of the stream (a steering poll, a QoE batch, a segment served): whether it counts, came back, or is refused. */
  async touch(sessionId: string, s?: { titleId: string; expiresAt: number }): Promise<streams.TouchVerdict> {
    return this.book.touch(sessionId, Date.now(), s);
  }

  /**
   * The client stopped the stream (`s`: its title and token expiry, as its signed session says), an
   * operator freed its slot (no `s`), or its play failed once admitted (`by`: no client ever had it).
   */
  async release(sessionId: string, s?: { titleId: string; expiresAt: number }, by?: "client" | "failed_play"): Promise<boolean> {
    return this.book.release(sessionId, Date.now(), s, by);
  }

  /** Answers at once (the benchmark's one-Durable-Object-call baseline). */
  async ping(): Promise<number> {
    return Date.now();
  }

  /** The streams that count now. */
  async active(): Promise<streams.ActiveStream[]> {
    return this.book.active(Date.now());
  }
}
