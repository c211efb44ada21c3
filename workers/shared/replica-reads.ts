/**
 * Reads of the views every isolate keeps (the catalogue's change looks and reloads, plans, browse
 * lists, the topology's version) go through a D1 session: with read replication on, a replica near
 * the isolate answers them rather than the primary, which at an Open Connect-sized peak would take a
 * look from each of thousands of isolates every few seconds. Each session starts from the newest
 * bookmark this isolate has seen, so an isolate's views never go back in time (a later read never
 * sees an older state than an earlier one). Writes, and reads that must see the latest write (admin
 * read-modify-write, fill planning), use the binding itself: the primary.
 */

/**
 * How long a view's read may hold its request: D1 answers these in milliseconds, and a call to a D1 that
 * is overloaded or cut off runs to its 30 s limit, past a client's own timeout (the SDK's 15 s). A read
 * not answered by then is failed (the caller serves what it holds, or 503): the isolate then knows D1 is
 * failing rather than holding every request for the full call.
 */
export const VIEW_READ_TIMEOUT_MS = 5_000;

/** A view's read D1 did not answer in time (D1 hanging, not refusing): what callers tell apart from an error. */
export class D1ReadTimeout extends Error {
  constructor(ms: number) {
    super(`D1 read: no answer within ${ms} ms`);
  }
}

/** `p`, or a D1ReadTimeout once `ms` have passed. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new D1ReadTimeout(ms)), ms);
  });
  return Promise.race([p, timeout]).finally(() => timer !== null && clearTimeout(timer));
}

/** What a view's reads need of D1: a session or the binding itself. */
export type D1Reads = Pick<D1Database, "prepare" | "batch">;

/** The newest bookmark this isolate has seen (bookmarks sort lexicographically, oldest first). */
let newest: string | null = null;

/**
 * Runs `read` on a session that may be answered by a replica, at least as new as any state this
 * isolate has read before; a binding without sessions (a test's wrapper) is read directly. Rejects
 * with D1ReadTimeout once `timeoutMs` has passed without an answer (default VIEW_READ_TIMEOUT_MS).
 */
export async function readReplica<T>(db: D1Database, read: (db: D1Reads) => Promise<T>, timeoutMs = VIEW_READ_TIMEOUT_MS): Promise<T> {
  if (typeof db.withSession !== "function") return within(read(db), timeoutMs);
  const session = db.withSession(newest ?? "first-unconstrained");
  try {
    return await within(read(session), timeoutMs);
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
