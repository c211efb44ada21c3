/**
 * What a reactive baseline is: a byte-capacity cache of whole titles at one site. A miss is served
 * from upstream and the cache may take the title at once (at request time, peak hours included).
 */
export interface TitleCache {
  readonly capacityBytes: number;
  /** Bytes copied in on misses so far, and titles evicted. */
  readonly filledBytes: number;
  readonly evictions: number;
  /** Bytes held now (never above capacityBytes). */
  readonly usedBytes: number;
  /** Looks the title up (a request); true if held. Counts the access either way. */
  lookup(title: number): boolean;
  /** After a miss: copies the title in if the policy admits it. Returns whether it did. */
  admit(title: number, size: number): boolean;
}
