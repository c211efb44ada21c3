import { SdkError } from "../errors";

/**
 * What the web player tells the viewer when a play is refused or playback stops for good: a sentence
 * a viewer can act on, chosen by the API's error code (or the SDK's, when no API answered), then the
 * code itself in brackets for whoever the viewer asks for help. Pure, so tests check every case.
 */
export function viewerMessage(err: unknown, titleName: (titleId: string) => string | undefined = () => undefined): string {
  if (!(err instanceof SdkError)) return `Something went wrong: ${String((err as Error)?.message ?? err).slice(0, 200)}`;
  const api = err.data.apiCode;
  const ref = `(error ${err.code}${api ? ` ${api}` : ""})`;
  const duringPlayback = err.errorName !== "PLAY_REQUEST_FAILED";
  const text =
    (api === "too_many_streams" && !duringPlayback && err.data.stoppedHolding ? handoversSpent(err.data.retryAfterS) : null) ??
    (api && byApiCode(api, duringPlayback, playingElsewhere(err.data.activeTitleIds, titleName))) ??
    bySdkError(err);
  return `${text} ${ref}`;
}

/**
 * A play refused because the member started and stopped streams too often this hour: the slot is held
 * by a stream stopped moments ago, so stopping another screen would not help; waiting does.
 */
function handoversSpent(retryAfterS: number | undefined): string {
  const wait = retryAfterS && retryAfterS > 90 ? `${Math.ceil(retryAfterS / 60)} minutes` : `${retryAfterS ?? 90} seconds`;
  return `Streams were started and stopped many times this hour, so one stopped moments ago still holds its place. Wait ${wait}, then press play again.`;
}

/** ", where Orbit City and Signal Test are playing": the other screens' titles by name, or "" when none is known. */
function playingElsewhere(titleIds: string[] | undefined, titleName: (titleId: string) => string | undefined): string {
  const names = [...new Set((titleIds ?? []).map((id) => titleName(id) ?? id))].slice(0, 4);
  if (!names.length) return "";
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `, where ${list} ${names.length === 1 ? "is" : "are"} playing`;
}

/** Refusals the viewer can do something about, by the API's error code. */
function byApiCode(code: string, duringPlayback: boolean, elsewhere: string): string | null {
  switch (code) {
    case "too_many_streams":
      return duringPlayback
        ? "Playback stopped: your plan's streams are in use on other screens. Stop one there, then press play to watch here."
        : `Your plan's streams are all in use on other screens${elsewhere}. Stop one there, then press play again.`;
    case "rate_limited":
      return "Too many plays in a short time. Wait a minute, then press play again.";
    // Pressing play again cannot help: say so, and where to go instead.
    case "taken_down":
      return duringPlayback
        ? "Playback stopped: this title is no longer available. Choose another title from the catalogue."
        : "This title is no longer available. Choose another title from the catalogue.";
    case "not_licensed":
      return duringPlayback
        ? "Playback stopped: this title is no longer available in your country. Choose another title from the catalogue."
        : "This title is not available in your country. Choose another title from the catalogue.";
    case "not_released":
      return "This title is not out yet.";
    case "unknown_title":
      return "This title is not in the catalogue.";
    case "no_playable_rendition":
      return "This device cannot play any version of this title.";
    case "unauthorized":
      return "Your sign-in has expired. Reload the page to sign in again.";
    case "forbidden":
    case "session_expired":
    case "version_gone":
      return "This video link is no longer valid. Press play again.";
    default:
      return null;
  }
}

/** When no API code says more: the SDK's own reason, in a viewer's words. */
function bySdkError(err: SdkError): string {
  switch (err.errorName) {
    case "ALL_OCAS_FAILED":
      return "No server could deliver this video just now. Press play to try again.";
    case "PLAY_REQUEST_FAILED":
      return err.data.status === undefined || err.data.status >= 500
        ? "The service could not start this video just now. Press play to try again."
        : "This video could not be started.";
    case "SESSION_EXPIRED":
      return "Playback stopped: this viewing session ran out and could not be renewed just now. Press play to go on watching.";
    case "HTTP_REFUSED":
      return "Playback stopped: the server refused the video.";
    case "PLAYLIST_INVALID":
    case "PLAYER_ERROR":
      return "Playback stopped: this video could not be played on this device.";
    default:
      return "Playback stopped.";
  }
}
