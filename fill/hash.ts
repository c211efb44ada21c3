/**
 * Rendezvous (highest-random-weight) hashing of titles over OCAs: each title ranks a site's OCAs by
 * a hash of `${titleId}|${ocaId}`, so adding or removing an OCA only moves the titles that rank it
 * first. The hash is FNV-1a followed by murmur3's 32-bit finaliser: plain FNV-1a barely mixes the
 * last characters, and ids that differ only at the end ("oca-1", "oca-2", …) then rank one OCA
 * first for half the titles. Pure: no Worker-only or Node-only dependency.
 */

/** 32-bit FNV-1a of a string's UTF-16 code units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's fmix32: every input bit flips each output bit with probability ~1/2. */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Rendezvous score of a title on an OCA (higher ranks first). */
export function rendezvousScore(titleId: string, ocaId: string): number {
  return avalanche(fnv1a(`${titleId}|${ocaId}`));
}

/** OCA ids in rendezvous order for a title: highest score first, ties by id. */
export function rendezvousOrder(titleId: string, ocaIds: readonly string[]): string[] {
  const scored = ocaIds.map((id) => ({ id, score: rendezvousScore(titleId, id) }));
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return scored.map((s) => s.id);
}
