/**
 * Removes video renditions above a session's height cap from manifests, so a plan's resolution limit
 * is enforced by the OCA itself (segments above the cap are refused as well); and keeps the references
 * a title's top manifests make (URIs, BaseURLs, segment URLs) within the title, whichever tool packaged
 * it. Each reads its manifest as a stock player does (RFC 8216 attribute lists, XML attributes and
 * references) in one pass, so a malformed or huge one costs time in step with its size and never throws.
 */

import { videoHeightOf } from "../../shared/file-keys";
import { type HlsAttribute, hlsAttribute, hlsAttributes, withHlsAttribute } from "./hls-attributes";

/**
 * The filter's version, in the colo cache's key of every filtered manifest: bump it with any change to
 * what the filters write, or colos keep serving manifests the filter before wrote for up to their TTL
 * (a fix of the filter would reach viewers an hour after its deploy).
 */
export const MANIFEST_FILTER_VERSION = 2;

/**
 * Drops the `#EXT-X-STREAM-INF` (with its URI line) and `#EXT-X-I-FRAME-STREAM-INF` entries above the
 * cap: by RESOLUTION height, or by the height of the video folder the URI names (the OCA refuses that
 * folder's files above the cap whatever the tag says, and RESOLUTION is optional). An EXT-X-MEDIA group
 * only dropped variants named goes with them. Everything else is kept as written (EXT-X-VERSION,
 * EXT-X-INDEPENDENT-SEGMENTS, CRLF line ends), but each URI line and URI attribute is kept within the title.
 */
export function filterHlsMultivariant(text: string, maxHeight: number): string {
  const lines = text.split("\n");
  const drop = new Set<number>();
  // Group ids (by the attribute naming them) of variants kept and of variants dropped.
  const kept = new Set<string>();
  const gone = new Set<string>();
  const groupsOf = (attrs: HlsAttribute[], into: Set<string>) => {
    for (const type of GROUP_TYPES) {
      const g = hlsAttribute(attrs, type);
      if (g !== undefined) into.add(`${type}\n${g}`);
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const iframe = line.startsWith("#EXT-X-I-FRAME-STREAM-INF:");
    if (!iframe && !line.startsWith("#EXT-X-STREAM-INF:")) continue;
    const attrs = hlsAttributes(line.trimEnd());
    // A STREAM-INF tag's URI is the next line that is neither blank nor a tag or comment (RFC 8216 §4.3.4.2),
    // looked for up to the next variant tag (a tag without one must not make every tag read the rest).
    let uriLine = -1;
    if (!iframe)
      for (let j = i + 1; j < lines.length && uriLine < 0 && !lines[j].startsWith("#EXT-X-STREAM-INF:"); j++)
        if (lines[j].trim() && !lines[j].startsWith("#")) uriLine = j;
    const uri = iframe ? hlsAttribute(attrs, "URI") : uriLine < 0 ? undefined : lines[uriLine].trim();
    const above = heightOfResolution(hlsAttribute(attrs, "RESOLUTION")) > maxHeight || (uri !== undefined && folderHeight("", uri) > maxHeight);
    groupsOf(attrs, above ? gone : kept);
    if (!above) continue;
    drop.add(i);
    if (uriLine >= 0) drop.add(uriLine);
  }
  if (drop.size > 0)
    lines.forEach((line, i) => {
      if (!line.startsWith("#EXT-X-MEDIA:")) return;
      const attrs = hlsAttributes(line.trimEnd());
      const type = hlsAttribute(attrs, "TYPE");
      const group = `${type}\n${hlsAttribute(attrs, "GROUP-ID")}`;
      // Only a group the dropped variants named and no kept one does: a group no variant ever named stays as written.
      if (type !== undefined && gone.has(group) && !kept.has(group)) drop.add(i);
    });
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (drop.has(i)) return;
    // Served from the title's root on an OCA: a URI line or URI attribute must not leave the title.
    if (line.startsWith("#EXT")) out.push(withHlsAttribute(line, hlsAttributes(line), "URI", (u) => refInTitle("", u)));
    else if (line.trim() && !line.startsWith("#")) {
      // The blanks around the URI are kept (a CR of a CRLF line end among them); trims, not a regex, keep a long line linear.
      const from = line.length - line.trimStart().length;
      const to = line.trimEnd().length;
      out.push(line.slice(0, from) + refInTitle("", line.slice(from, to)) + line.slice(to));
    } else out.push(line);
  });
  return out.join("\n");
}

/** The attributes of a variant that name an EXT-X-MEDIA group, each the TYPE of the renditions it names. */
const GROUP_TYPES = ["AUDIO", "VIDEO", "SUBTITLES", "CLOSED-CAPTIONS"] as const;

/** The height of an HLS RESOLUTION (`1920x1080`), or 0 when it says none. */
function heightOfResolution(resolution: string | undefined): number {
  const m = /^\d+x(\d+)$/.exec(resolution ?? "");
  return m ? Number(m[1]) : 0;
}

/** The height of the video folder (`video/{codec}-{height}p/`) a reference against `base` names within the title, or 0. */
function folderHeight(base: string, ref: string): number {
  // Resolving keeps "video/" as written (nothing decodes it): a reference without it names no video folder.
  if (!ref.includes("video/")) return 0;
  const safe = uriRef(ref);
  if (OWN_HOST.test(safe)) return 0;
  // A plain relative reference from the title's root is its own path there: no URL to parse (an MPD may list thousands).
  if (base === "" && PLAIN_RELATIVE.test(safe)) return videoHeightOf(safe) ?? 0;
  return videoHeightOf(titlePath(base, safe)) ?? 0;
}

/**
 * Drops DASH video Representations above the cap: by height (their own, else their set's: ISO/IEC
 * 23009-1 §5.3.7, common attributes are inherited; GPAC writes one height on the set of a single-height
 * ladder), or by the video folder their segments are in (the OCA refuses that folder's files above the
 * cap whatever the MPD says). An AdaptationSet that lost some says the remaining ones' `maxWidth`/`maxHeight`
 * (a player sizing its buffer or picking a set by them must not see the full ladder's), and one left with
 * none goes (an empty set is not valid DASH). Attributes are read as XML writes them: either quote,
 * blanks around "=". Then every relative URL the MPD makes is kept within the title (`dashBaseUrlsInTitle`).
 */
export function filterDashMpd(source: string, maxHeight: number): string {
  const text = untilUnclosed(source);
  let out = "";
  let from = 0;
  for (const set of xmlElements(text, "AdaptationSet", 0, text.length)) {
    if (set.bodyEnd === undefined) continue;
    const setHeight = xmlNumber(set.attrs, "height");
    const reps = [...xmlElements(text, "Representation", set.bodyStart, set.bodyEnd)];
    // The URLs the set names outside its Representations (its BaseURLs, templates): a template naming
    // $RepresentationID$ is each Representation's own, the others are every one's.
    const gaps =
      reps.map((r, i) => text.slice(i === 0 ? set.bodyStart : reps[i - 1].end, r.start)).join("") + text.slice(reps.at(-1)?.end ?? set.bodyStart, set.bodyEnd);
    const outside = urlsOf(gaps);
    const perRep = outside.filter((u) => u.includes("$RepresentationID$"));
    // Folded, not spread: a set's SegmentList may name more URLs than a call takes arguments.
    const setFolder = outside.reduce((most, u) => (u.includes("$RepresentationID$") ? most : Math.max(most, folderHeight("", u))), 0);
    const above = reps.filter((r) => {
      if ((xmlNumber(r.attrs, "height") ?? setHeight ?? 0) > maxHeight || setFolder > maxHeight) return true;
      const id = xmlAttr(r.attrs, "id") ?? "";
      const urls = [...urlsOf(text.slice(r.start, r.end)), ...perRep.map((u) => u.replaceAll("$RepresentationID$", id))];
      return urls.some((u) => folderHeight("", u) > maxHeight);
    });
    if (above.length === 0) continue;
    const dropped = new Set(above);
    const left = reps.filter((r) => !dropped.has(r));
    if (left.length === 0) {
      // The set goes whole, with its line.
      out += text.slice(from, lineStart(text, set.start));
      from = lineEnd(text, set.end);
      continue;
    }
    const most = (attr: string) => left.reduce((m, r) => Math.max(m, xmlNumber(r.attrs, attr) ?? xmlNumber(set.attrs, attr) ?? 0), 0);
    const tag = text
      .slice(set.start, set.bodyStart)
      .replace(/(\smaxHeight\s*=\s*)(?:"[^"]*"|'[^']*')/, (_x, a: string) => `${a}"${most("height")}"`)
      .replace(/(\smaxWidth\s*=\s*)(?:"[^"]*"|'[^']*')/, (_x, a: string) => `${a}"${most("width")}"`);
    out += text.slice(from, set.start) + tag;
    let at = set.bodyStart;
    for (const r of above) {
      out += text.slice(at, lineStart(text, r.start));
      at = lineEnd(text, r.end);
    }
    out += text.slice(at, set.end);
    from = set.end;
  }
  // Served from the title's root on an OCA: its relative URLs must not leave the title.
  return dashBaseUrlsInTitle(out + text.slice(from)).text;
}

/**
 * An MPD up to a comment or CDATA section that never closes (the rest of it, to an XML parser, is that
 * comment's or section's and the document is not well-formed): read past it, every later element would
 * look for its end all the way down, each time.
 */
function untilUnclosed(mpd: string): string {
  let at = 0;
  // Each opener is looked for again only once passed: one walk over the MPD.
  let comment = mpd.indexOf("<!--");
  let cdata = mpd.indexOf("<![CDATA[");
  for (;;) {
    if (comment >= 0 && comment < at) comment = mpd.indexOf("<!--", at);
    if (cdata >= 0 && cdata < at) cdata = mpd.indexOf("<![CDATA[", at);
    if (comment < 0 && cdata < 0) return mpd;
    const [open, closer] = cdata < 0 || (comment >= 0 && comment < cdata) ? [comment, "-->"] : [cdata, "]]>"];
    const shut = mpd.indexOf(closer, open + 4);
    if (shut < 0) return mpd.slice(0, open);
    at = shut + closer.length;
  }
}

/** Where an element's line starts when only blanks come before it on that line (else the element's own start). */
function lineStart(text: string, at: number): number {
  let i = at;
  while (i > 0 && (text[i - 1] === " " || text[i - 1] === "\t")) i--;
  return i;
}

/** Past an element's line end when only blanks follow it on that line (else the element's own end). */
function lineEnd(text: string, at: number): number {
  let i = at;
  while (text[i] === " " || text[i] === "\t") i++;
  if (text[i] === "\r") i++;
  if (text[i] === "\n") i++;
  return i;
}

/** One element found in an MPD: its extent, its start tag's attributes, and its content's extent (none when it closes itself). */
interface XmlElement {
  start: number;
  end: number;
  attrs: string;
  bodyStart: number;
  bodyEnd?: number;
}

/**
 * The `name` elements within `[from, to)` of an MPD, outside comments, not nested in one another (as
 * AdaptationSets and Representations never are). One pass over that part only: an element with no end
 * tag ends the walk, as none after it could have one, so a malformed MPD costs no more than a sound one.
 */
function* xmlElements(text: string, name: string, from: number, to: number): Generator<XmlElement> {
  const part = text.slice(from, to);
  const open = `<${name}`;
  const close = `</${name}>`;
  const startTag = new RegExp(`<${name}((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>`, "y");
  let at = 0;
  let comment = part.indexOf("<!--");
  for (;;) {
    if (comment >= 0 && comment < at) comment = part.indexOf("<!--", at);
    const next = part.indexOf(open, at);
    if (next < 0) return;
    if (comment >= 0 && comment < next) {
      const shut = part.indexOf("-->", comment + 4);
      if (shut < 0) return;
      at = shut + 3;
      comment = part.indexOf("<!--", at);
      continue;
    }
    at = next + open.length;
    if (!/[\s/>]/.test(part.charAt(at))) continue;
    startTag.lastIndex = next;
    const m = startTag.exec(part);
    if (!m) continue;
    const body = startTag.lastIndex;
    if (m[2]) {
      yield { start: from + next, end: from + body, attrs: m[1], bodyStart: from + body };
      at = body;
      continue;
    }
    const shut = part.indexOf(close, body);
    if (shut < 0) return;
    yield { start: from + next, end: from + shut + close.length, attrs: m[1], bodyStart: from + body, bodyEnd: from + shut };
    at = shut + close.length;
  }
}

/** An attribute's value in a start tag's attributes (XML: either quote, blanks around "="), its entities read. */
function xmlAttr(attrs: string, name: string): string | undefined {
  for (const m of attrs.matchAll(XML_ATTR)) if (m[1] === name) return xmlText(m[2] ?? m[3]);
  return undefined;
}
const XML_ATTR = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** An attribute's value as a number, or undefined when it has none that is one. */
function xmlNumber(attrs: string, name: string): number | undefined {
  const v = xmlAttr(attrs, name)?.trim();
  return v && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** The elements of an MPD that name segment URLs, and the attributes that do (ISO/IEC 23009-1 §5.3.9). */
const SEGMENT_URL_ELEMENTS = /<(SegmentTemplate|SegmentURL|Initialization|RepresentationIndex|BitstreamSwitching)\b((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
const SEGMENT_URL_ATTRS = new Set(["media", "initialization", "index", "bitstreamSwitching", "sourceURL"]);

/** The URLs a piece of an MPD names: its BaseURLs' text and its segment URL attributes, entities read. */
function urlsOf(xml: string): string[] {
  const out = [...xml.matchAll(BASE_URL)].map((m) => xmlText(m[1].trim()));
  for (const el of xml.matchAll(SEGMENT_URL_ELEMENTS))
    for (const a of el[2].matchAll(XML_ATTR)) if (SEGMENT_URL_ATTRS.has(a[1])) out.push(xmlText(a[2] ?? a[3]));
  return out;
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
  const u = new URL(uriRef(ref), `http://title.invalid/${base}`);
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
 * resolved with the title's root as the root (`titlePath`). Characters no URI holds are percent-encoded
 * first (`uriRef`), so no reference throws here or in a player's URL parser.
 */
export function refInTitle(base: string, ref: string): string {
  const safe = uriRef(ref);
  if (OWN_HOST.test(safe) || PLAIN_RELATIVE.test(safe)) return safe;
  return relativeRef(base, titlePath(base, safe));
}

/**
 * `ref` as a WHATWG URL parser (every browser player's) reads it, made plain: the C0 controls and spaces
 * around it dropped (as the parser drops them: ` //host/x` is a network path to it), and the characters
 * no URI reference holds (RFC 3986 §2) that it reads as "/" ("\\") or drops (tab, CR, LF) inside
 * percent-encoded. Else a player would read `\\host/x` as another host, or a parser throw on `/\n/[` (a
 * 5xx); encoded, each is one file's name to every player, within the title.
 */
function uriRef(ref: string): string {
  // Walked, not matched: `[\x00-\x20]+$` would scan every run of blanks inside a long reference again from each of its characters.
  let from = 0;
  let to = ref.length;
  while (from < to && ref.charCodeAt(from) <= 0x20) from++;
  while (to > from && ref.charCodeAt(to - 1) <= 0x20) to--;
  return ref.slice(from, to).replace(/[\\\t\n\r]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

/** The text an XML parser reads: CDATA sections as they are, character and the predefined entity references read (one pass). */
const xmlText = (s: string) =>
  s
    .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
    .map((part, i) => (i % 2 ? part.slice(9, -3) : part.replace(XML_REF, xmlRef)))
    .join("");
const XML_REF = /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(lt|gt|quot|apos|amp));/g;
const NAMED: ReadonlyMap<string, string> = new Map([
  ["lt", "<"],
  ["gt", ">"],
  ["quot", '"'],
  ["apos", "'"],
  ["amp", "&"],
]);
function xmlRef(whole: string, dec?: string, hex?: string, name?: string): string {
  if (name) return NAMED.get(name) ?? whole;
  const code = dec !== undefined ? Number(dec) : Number.parseInt(hex!, 16);
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
}
/** Text as element content or a double-quoted attribute value. */
const xmlEsc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A BaseURL element: its start tag, and its text (CDATA sections in it included). */
const BASE_URL = /<BaseURL\b[^>]*>((?:[^<]|<!\[CDATA\[[\s\S]*?\]\]>)*)<\/BaseURL>/g;

/**
 * The elements whose BaseURLs nest (ISO/IEC 23009-1 §5.6), each BaseURL element, each element naming
 * segment URLs (`SEGMENT_URL_ELEMENTS`'s), and comments (skipped).
 */
const DASH_URL_PARTS =
  /<!--[\s\S]*?-->|<(\/?)(MPD|Period|AdaptationSet|Representation)\b((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>|([ \t]*)(<BaseURL\b[^>]*>)((?:[^<]|<!\[CDATA\[[\s\S]*?\]\]>)*)<\/BaseURL>([ \t]*\r?\n)?|<(SegmentTemplate|SegmentURL|Initialization|RepresentationIndex|BitstreamSwitching)\b((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;

/**
 * An MPD's relative `<BaseURL>`s and segment URLs (SegmentTemplate `media`, `initialization`, SegmentURL…)
 * made to resolve within the title (ISO/IEC 23009-1 §5.6: each against its parent element's, the MPD
 * level's against the MPD's own URL; RFC 3986 §5.2), the title's root
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
  const text = untilUnclosed(mpd).replace(
    DASH_URL_PARTS,
    (
      whole: string,
      close?: string,
      name?: string,
      _attrs?: string,
      selfClose?: string,
      indent?: string,
      open?: string,
      body?: string,
      eol?: string,
      segmentElement?: string,
      segmentAttrs?: string,
      segmentClose?: string,
    ) => {
      if (segmentElement) {
        // A segment URL resolves against the BaseURL of the element it is in (§5.6.4), as a BaseURL does.
        const base = stack[stack.length - 1]?.own;
        if (base === null || base === undefined) return whole;
        const attrs = segmentAttrs!.replace(XML_ATTR, (attr: string, key: string, dq?: string, sq?: string) => {
          if (!SEGMENT_URL_ATTRS.has(key)) return attr;
          const ref = xmlText(dq ?? sq ?? "");
          const fixed = refInTitle(base, ref);
          return fixed === ref ? attr : `${key}="${xmlEsc(fixed)}"`;
        });
        return `<${segmentElement}${attrs}${segmentClose}>`;
      }
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
