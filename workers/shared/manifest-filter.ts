/**
 * Removes video renditions above a session's height cap from manifests, so a plan's resolution limit
 * is enforced by the OCA itself (segments above the cap are refused as well); and keeps the references
 * a title's top manifests make (URIs, BaseURLs) within the title, whichever tool packaged it.
 */

/** Drops `#EXT-X-STREAM-INF` / `#EXT-X-I-FRAME-STREAM-INF` entries whose RESOLUTION height exceeds the cap. */
export function filterHlsMultivariant(text: string, maxHeight: number): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const height = /^#EXT-X-(?:I-FRAME-)?STREAM-INF:.*?RESOLUTION=\d+x(\d+)/.exec(line);
    if (height && Number(height[1]) > maxHeight) {
      // A STREAM-INF tag is followed by its URI line; an I-FRAME tag carries its URI inline.
      if (line.startsWith("#EXT-X-STREAM-INF")) {
        while (i + 1 < lines.length && (lines[i + 1].trim() === "" || (lines[i + 1].startsWith("#") && !lines[i + 1].startsWith("#EXT")))) i++;
        i++;
      }
      continue;
    }
    // Served from the title's root on an OCA: a URI line or URI attribute must not leave the title.
    if (line.trim() && !line.startsWith("#"))
      out.push(line.replace(/^(\s*)(.*?)(\s*)$/, (_x, a: string, u: string, b: string) => `${a}${refInTitle("", u)}${b}`));
    else out.push(line.replace(/([:,])URI="([^"]*)"/g, (_x, sep: string, u: string) => `${sep}URI="${refInTitle("", u)}"`));
  }
  return out.join("\n");
}

/**
 * Drops DASH video Representations whose height exceeds the cap; an AdaptationSet that lost some says
 * the remaining ones' `maxWidth`/`maxHeight` (a player sizing its buffer or picking a set by them must not
 * see the full ladder's), and one left with none goes (an empty set is not valid DASH).
 */
export function filterDashMpd(text: string, maxHeight: number): string {
  // A set's start tag may hold "/" (mimeType="video/mp4") but never ends "/>" here (a set has children).
  const sets = /([ \t]*)<AdaptationSet\b((?:[^>/]|\/(?!>))*)>([\s\S]*?)<\/AdaptationSet>([ \t]*\r?\n?)/g;
  const out = text.replace(sets, (whole: string, indent: string, attrs: string, body: string, tail: string) => {
    // A Representation without a height of its own has its set's (ISO/IEC 23009-1 5.3.7: common
    // attributes are inherited; GPAC writes one height on the set of a single-height ladder).
    const setHeight = /\bheight="(\d+)"/.exec(attrs)?.[1];
    const kept = body.replace(/[ \t]*<Representation\b([^>]*?)(?:\/>|>[\s\S]*?<\/Representation>)[ \t]*\r?\n?/g, (rep: string, own: string) => {
      const h = /\bheight="(\d+)"/.exec(own)?.[1] ?? setHeight;
      return h !== undefined && Number(h) > maxHeight ? "" : rep;
    });
    if (kept === body) return whole;
    const starts = [...kept.matchAll(/<Representation\b[^>]*>/g)].map((m) => m[0]);
    if (!starts.length) return "";
    const attrOf = (tag: string, attr: string) => new RegExp(`\\b${attr}="(\\d+)"`).exec(tag)?.[1];
    const most = (attr: string) => Math.max(...starts.map((t) => Number(attrOf(t, attr) ?? attrOf(attrs, attr) ?? 0)));
    const capped = attrs.replace(/\bmaxHeight="\d+"/, () => `maxHeight="${most("height")}"`).replace(/\bmaxWidth="\d+"/, () => `maxWidth="${most("width")}"`);
    return `${indent}<AdaptationSet${capped}>${kept}</AdaptationSet>${tail}`;
  });
  // Served from the title's root on an OCA: its relative BaseURLs must not leave the title.
  return dashBaseUrlsInTitle(out).text;
}

/** An absolute URI (RFC 3986 §3.1 scheme) or a network-path reference (`//host/…`): it names its own host, not a file of the title. */
export const OWN_HOST = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

/** A relative-path reference with no dot segment (plain or percent-encoded): against a base within the title, it stays within it. */
const PLAIN_RELATIVE = /^(?![/?#])(?!(?:[^?#]*\/)?(?:\.|%2e){1,2}(?:[/?#]|$))/i;

/**
 * `ref` resolved against `base` (a path within the title, from its root, no leading "/"), as RFC 3986
 * §5.2 does with the title's root standing for the path's root: an absolute-path reference starts there,
 * and dot segments (percent-encoded ones too) never climb above it. Answers the path from the title's
 * root, with the reference's query.
 */
export function titlePath(base: string, ref: string): string {
  const u = new URL(ref, `http://title.invalid/${base}`);
  return `${u.pathname.replace(/^\/+/, "")}${u.search}`;
}

/** A relative-path reference that resolves against `base` to `target` (both paths within the title, from its root). */
function relativeRef(base: string, target: string): string {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const from = base.split("?")[0].split("/").slice(0, -1);
  const to = path.split("/");
  let k = 0;
  while (k < from.length && k < to.length - 1 && from[k] === to[k]) k++;
  let ref = "../".repeat(from.length - k) + to.slice(k).join("/");
  // An empty reference would name the base itself, and a first segment with ":" would read as a scheme.
  if (ref === "" || /^[^/]*:/.test(ref)) ref = `./${ref}`;
  return q < 0 ? ref : ref + target.slice(q);
}

/**
 * A manifest's URI reference (against `base`, within the title) as one that resolves within the title
 * wherever the manifest is served from: an absolute URI is kept as written, so is a relative-path one
 * with no dot segment; an absolute-path one or one with dot segments is written relative to `base`,
 * resolved with the title's root as the root (`titlePath`).
 */
export function refInTitle(base: string, ref: string): string {
  if (OWN_HOST.test(ref) || PLAIN_RELATIVE.test(ref)) return ref;
  return relativeRef(base, titlePath(base, ref));
}

const xmlText = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
const xmlEsc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The elements whose BaseURLs nest (ISO/IEC 23009-1 §5.6), each BaseURL element, and comments (skipped). */
const DASH_URL_PARTS =
  /<!--[\s\S]*?-->|<(\/?)(MPD|Period|AdaptationSet|Representation)\b((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>|([ \t]*)(<BaseURL\b[^>]*>)([^<]*)<\/BaseURL>([ \t]*\r?\n)?/g;

/**
 * An MPD's relative `<BaseURL>`s made to resolve within the title (ISO/IEC 23009-1 §5.6: each against
 * its parent element's, the MPD level's against the MPD's own URL; RFC 3986 §5.2), the title's root
 * standing for the path's root: `/x/` and `../x/` never leave it (as `refInTitle`). Absolute ones are
 * kept as written, and whatever resolves against one. With `foldTop`, the MPD level's relative BaseURLs
 * are taken out and the first one's path from the title's root answered as `root` (a steered MPD puts it
 * into each pathway's BaseURL: left in, it would resolve against the steering server's URL).
 */
export function dashBaseUrlsInTitle(mpd: string, foldTop = false): { text: string; root: string } {
  // Per open element: the base its BaseURLs resolve against (its parent's), and its own (null: outside the title).
  const stack: Array<{ parent: string | null; own: string | null; set: boolean; top: boolean }> = [];
  let root = "";
  let rootSet = false;
  const text = mpd.replace(
    DASH_URL_PARTS,
    (whole: string, close?: string, name?: string, _attrs?: string, selfClose?: string, indent?: string, open?: string, body?: string, eol?: string) => {
      if (name) {
        if (close) stack.pop();
        else if (!selfClose) {
          const up = stack[stack.length - 1];
          const base = up ? up.own : "";
          stack.push({ parent: base, own: base, set: false, top: name === "MPD" });
        }
        return whole;
      }
      if (open === undefined) return whole;
      const at = stack[stack.length - 1];
      if (!at) return whole;
      const ref = xmlText(body!.trim());
      if (at.parent === null || OWN_HOST.test(ref)) {
        if (!at.set) Object.assign(at, { own: null, set: true });
        return whole;
      }
      const target = titlePath(at.parent, ref);
      if (!at.set) Object.assign(at, { own: target, set: true });
      if (foldTop && at.top) {
        if (!rootSet) [root, rootSet] = [target, true];
        return "";
      }
      const fixed = refInTitle(at.parent, ref);
      return fixed === ref ? whole : `${indent}${open}${xmlEsc(fixed)}</BaseURL>${eol ?? ""}`;
    },
  );
  return { text, root };
}
