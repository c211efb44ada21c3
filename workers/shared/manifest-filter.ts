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

/** Drops DASH video Representations whose height exceeds the cap. */
export function filterDashMpd(text: string, maxHeight: number): string {
  return text.replace(/[ \t]*<Representation\b[^>]*?\bheight="(\d+)"[^>]*?(?:\/>|>[\s\S]*?<\/Representation>)[ \t]*\r?\n?/g, (whole, h: string) =>
    Number(h) > maxHeight ? "" : whole,
  );
}
