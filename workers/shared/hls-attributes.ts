/**
 * An HLS tag's attribute list read as RFC 8216 §4.2 defines it: `NAME=value` pairs separated by commas,
 * a quoted string running to its closing quote whatever it holds (commas, "=", another attribute's name:
 * `CODECS="avc1.640028,mp4a.40.2"`). A search for `RESOLUTION=` or `,URI="` in the raw text would read
 * such a string's insides as attributes, and miss the real one after it.
 */

/** One attribute: its name, its value as written (quotes included), and where that value starts in the tag. */
export interface HlsAttribute {
  name: string;
  raw: string;
  at: number;
}

const PAIR = /([A-Z0-9-]+)=("[^"\r\n]*"|[^,"\r\n]*)/y;

/**
 * The attributes of `tag` (a whole `#EXT…:` line), in order. Reading stops at the first thing that is
 * not an attribute: what follows is no attribute a player would read either.
 */
export function hlsAttributes(tag: string): HlsAttribute[] {
  const out: HlsAttribute[] = [];
  let at = tag.indexOf(":") + 1;
  if (at === 0) return out;
  // One pass over the line: each pair is matched once where the last one ended.
  while (at < tag.length) {
    PAIR.lastIndex = at;
    const m = PAIR.exec(tag);
    if (!m) break;
    out.push({ name: m[1], raw: m[2], at: at + m[1].length + 1 });
    at = PAIR.lastIndex;
    if (tag[at] !== ",") break;
    at++;
  }
  return out;
}

/** The value of attribute `name` (a quoted string without its quotes), or undefined. */
export function hlsAttribute(attrs: HlsAttribute[], name: string): string | undefined {
  const a = attrs.find((x) => x.name === name);
  if (!a) return undefined;
  return a.raw.startsWith('"') ? a.raw.slice(1, -1) : a.raw;
}

/** `tag` with each quoted value of an attribute named `name` replaced by `change(value)`. */
export function withHlsAttribute(tag: string, attrs: HlsAttribute[], name: string, change: (value: string) => string): string {
  let out = "";
  let from = 0;
  for (const a of attrs) {
    if (a.name !== name || !a.raw.startsWith('"')) continue;
    out += `${tag.slice(from, a.at)}"${change(a.raw.slice(1, -1))}"`;
    from = a.at + a.raw.length;
  }
  return out + tag.slice(from);
}

/**
 * `tag` with each quoted value changed by `change(name, value)`, kept as written where it answers
 * undefined: several attributes changed in one pass, each by its own name (a value holding another
 * attribute's name is that value, not the attribute).
 */
export function withHlsAttributeValues(tag: string, attrs: HlsAttribute[], change: (name: string, value: string) => string | undefined): string {
  let out = "";
  let from = 0;
  for (const a of attrs) {
    if (!a.raw.startsWith('"')) continue;
    const value = change(a.name, a.raw.slice(1, -1));
    if (value === undefined) continue;
    out += `${tag.slice(from, a.at)}"${value}"`;
    from = a.at + a.raw.length;
  }
  return out + tag.slice(from);
}

/** `tag` without its attributes named `name`, each with one comma beside it (an attribute list names each attribute once). */
export function withoutHlsAttribute(tag: string, attrs: HlsAttribute[], name: string): string {
  let out = "";
  let from = 0;
  for (let k = 0; k < attrs.length; k++) {
    const a = attrs[k];
    if (a.name !== name) continue;
    const start = a.at - a.name.length - 1;
    const end = a.at + a.raw.length;
    // The comma before it while that is still kept, else (the list's first attribute left) the one after it.
    if (k > 0 && start - 1 >= from) {
      out += tag.slice(from, start - 1);
      from = end;
    } else {
      out += tag.slice(from, start);
      from = tag[end] === "," ? end + 1 : end;
    }
  }
  return out + tag.slice(from);
}
