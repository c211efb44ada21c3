/**
 * Where a session's QoE events go (shared: the capacity model counts the same shards): one of EVENT_SHARDS objects of its home site, chosen by session id,
 * so a busy site's event stream spreads over that many objects (each forwards the bytes to the site
 * once a second). Changing EVENT_SHARDS moves sessions to other shards: their earlier events stay where
 * they were, and retries of earlier batches are no longer recognised as duplicates.
 */
export const EVENT_SHARDS = 64;

/** FNV-1a of the session id, for a stable shard. */
export function eventShard(sessionId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) {
    h ^= sessionId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % EVENT_SHARDS;
}
