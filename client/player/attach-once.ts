/**
 * One attachment of a session per player, for the adapters (`attachShaka`, `attachDashjs`,
 * `attachSession`): a second attach of the same session to the same player hands back the first
 * attachment's detach function (no second set of filters, which would report every failure twice and
 * re-order every request twice); a different session while one is attached is an error (the app
 * forgot to detach the first: its filters would go on acting for a session that ended).
 */
/** The session a player has attached, structurally (the hls.js entry imports the session's type from the package). */
interface Attached {
  readonly sessionId: string;
}

/** One player's attachment: its session and the detach function the first attach returned. */
export interface Attachment {
  session: Attached;
  detach: () => void;
}

/**
 * Attaches `session` to `player` with `attach` unless it already is (then the first attachment's
 * detach function comes back). Throws when another session is attached to `player`. `attachments`
 * is the adapter's own registry (players of one kind). The returned function detaches once and
 * forgets the attachment, so the player can be attached again after it.
 */
export function attachOnce(attachments: WeakMap<object, Attachment>, what: string, player: object, session: Attached, attach: () => () => void): () => void {
  const held = attachments.get(player);
  if (held?.session === session) return held.detach;
  if (held)
    throw new Error(
      `${what}: this player already has a session attached (${held.session.sessionId}); call the function the first attach returned before attaching another`,
    );
  const undo = attach();
  let done = false;
  const detach = () => {
    if (done) return;
    done = true;
    if (attachments.get(player) === entry) attachments.delete(player);
    undo();
  };
  const entry: Attachment = { session, detach };
  attachments.set(player, entry);
  return detach;
}
