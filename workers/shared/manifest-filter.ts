/**
 * Removes video renditions above a session's height cap from manifests, so a plan's resolution limit
 * is enforced by the OCA itself (segments above the cap are refused as well).
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
    out.push(line);
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
  return text.replace(sets, (whole: string, indent: string, attrs: string, body: string, tail: string) => {
    const kept = body.replace(
      /[ \t]*<Representation\b[^>]*?\bheight="(\d+)"[^>]*?(?:\/>|>[\s\S]*?<\/Representation>)[ \t]*\r?\n?/g,
      (rep: string, h: string) => (Number(h) > maxHeight ? "" : rep),
    );
    if (kept === body) return whole;
    const starts = [...kept.matchAll(/<Representation\b[^>]*>/g)].map((m) => m[0]);
    if (!starts.length) return "";
    const most = (attr: string) => Math.max(...starts.map((t) => Number(new RegExp(`\\b${attr}="(\\d+)"`).exec(t)?.[1] ?? 0)));
    const capped = attrs.replace(/\bmaxHeight="\d+"/, () => `maxHeight="${most("height")}"`).replace(/\bmaxWidth="\d+"/, () => `maxWidth="${most("width")}"`);
    return `${indent}<AdaptationSet${capped}>${kept}</AdaptationSet>${tail}`;
  });
}
