/**
 * Reads of the views every isolate keeps (the catalogue's change looks and reloads, plans, browse
 * lists, the topology's version) go through a D1 session: with read replication on, a replica near
 * the isolate answers them rather than the primary, which at an Open Connect-sized peak would take a
 * look from each of thousands of isolates every few seconds. Each session starts from the newest
 * bookmark this isolate has seen, so an isolate's views never go back in time (a later read never
 * sees an older state than an earlier one). Writes, and reads that must see the latest write (admin
 * read-modify-write, fill planning), use the binding itself: the primary.
 */

/** What a view's reads need of D1: a session or the binding itself. */
export type D1Reads = Pick<D1Database, "prepare" | "batch">;

/** The newest bookmark this isolate has seen (bookmarks sort lexicographically, oldest first). */
let newest: string | null = null;

/**
 * Runs `read` on a session that may be answered by a replica, at least as new as any state this
 * isolate has read before; a binding without sessions (a test's wrapper) is read directly.
 */
export async function readReplica<T>(db: D1Database, read: (db: D1Reads) => Promise<T>): Promise<T> {
  if (typeof db.withSession !== "function") return read(db);
  const session = db.withSession(newest ?? "first-unconstrained");
  try {
    return await read(session);
  } finally {
    const bookmark = session.getBookmark();
    if (bookmark && (newest === null || bookmark > newest)) newest = bookmark;
  }
}

/** The newest bookmark this isolate has seen (tests). */
export function newestBookmark(): string | null {
  return newest;
}

/**
 * After a write this isolate made (an operator's registration or takedown): its later view reads start
 * from the primary's state now, so a replica behind that write waits for it rather than answering from
 * before it. One read of the primary; a binding without sessions has nothing to catch up.
 */
export async function seeOwnWrites(db: D1Database): Promise<void> {
  if (typeof db.withSession !== "function") return;
  const session = db.withSession("first-primary");
  await session.prepare("SELECT 1").run();
  const bookmark = session.getBookmark();
  if (bookmark && (newest === null || bookmark > newest)) newest = bookmark;
}
