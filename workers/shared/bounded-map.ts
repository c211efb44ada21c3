/**
 * Sets `key` as the newest entry of `map` and drops the oldest past `max`: the isolate's memories keyed
 * by what clients send (sessions, tokens, addresses, files) stay bounded whatever they send. A map kept
 * this way is in least-recently-set order.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}
