import { StreamBook, type StreamMemory } from "../durable-objects/member/streams";

/** A member's stream book on its object's storage, its memory, an empty play window and a two-stream plan. */
export function openBook(state: DurableObjectState) {
  const sql = state.storage.sql;
  const book = new StreamBook(sql);
  return {
    sql,
    book,
    memory: (book as unknown as { memory: StreamMemory }).memory,
    window: { start: 0, plays: 0 },
    plan: { streams: 2, playsPerWindow: 60 },
    t: Date.now(),
  };
}
