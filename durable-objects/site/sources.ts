import type { HeldFile } from "./holdings";
import type { TitleFile } from "./copy-file";

/**
 * Where a fill copies a file from, as a pure decision: a peer OCA of the site that holds it; else,
 * while an earlier peer is still fetching it, wait; else the nearest parent site that holds it with
 * the catalogue's checksum (or wait for one that plans it); else origin. A source that already failed
 * for this file is skipped, so repeated failures escalate towards origin.
 */

export interface ParentOffer {
  siteId: string;
  /** The parent's ready copy of this file, if any, with its checksum. */
  holder: HeldFile | undefined;
  /** The parent's plan includes the title (it will have it soon). */
  plans: boolean;
}

export interface SourceInput {
  file: TitleFile;
  /** Peer OCAs holding a ready copy with the catalogue's checksum, in preference order. */
  peers: string[];
  /** A peer ordered before this OCA still has the file queued. */
  earlierPeerQueued: boolean;
  parents: ParentOffer[];
  /** Labels of sources that failed for this file ("peer:{oca}", "parent:{site}", "origin"). */
  failed: readonly string[];
  /** How long the task has waited, and how long it may wait for a peer, then a parent. */
  age: number;
  peerWaitMs: number;
  parentWaitMs: number;
}

export type SourceDecision =
  | { kind: "peer"; ocaId: string; label: string }
  | { kind: "parent"; siteId: string; ocaId: string; label: string }
  | { kind: "origin"; label: "origin" }
  | { kind: "wait"; reason: string };

export function chooseSource(i: SourceInput): SourceDecision {
  const peer = i.peers.find((p) => !i.failed.includes(`peer:${p}`));
  if (peer) return { kind: "peer", ocaId: peer, label: `peer:${peer}` };
  // Of the OCAs still filling a file, the first by id fetches it from upstream and the rest wait for
  // it, so a popular file crosses the parent link once per site, and two peers never wait on each other.
  if (i.earlierPeerQueued && i.age < i.peerWaitMs && i.failed.length === 0) return { kind: "wait", reason: "a peer is fetching it" };
  for (const p of i.parents) {
    if (i.failed.includes(`parent:${p.siteId}`)) continue;
    // A parent's copy counts only with the catalogue's checksum: after a re-publish it may be stale.
    if (p.holder && p.holder.sha256 === i.file.sha256) return { kind: "parent", siteId: p.siteId, ocaId: p.holder.ocaId, label: `parent:${p.siteId}` };
    if (p.plans && i.age < i.peerWaitMs + i.parentWaitMs && i.failed.length === 0) return { kind: "wait", reason: `parent ${p.siteId} is filling it` };
  }
  return { kind: "origin", label: "origin" };
}
