import { describe, expect, it } from "vitest";
import { steeredHlsPlaylist } from "../workers/control/content-steering";
import { hlsAttribute, hlsAttributes, withHlsAttributeValues, withoutHlsAttribute } from "../workers/shared/hls-attributes";

/**
 * The session's steered multivariant playlist read as a stock player (hls.js, Safari) reads it: attribute
 * lists per RFC 8216 §4.2 (a quoted string holds commas, "=" and other attributes' names), a variant's URI
 * the next line that is no tag or comment (§4.3.4.2), each pathway's renditions in groups only that
 * pathway's variants name (RFC 8216bis §4.4.6.6), one PATHWAY-ID per variant, every URI on an OCA in the title.
 */

const PATHWAYS = [
  { siteId: "s1", ocaId: "a", url: "https://cdn.test/oca/s1/a/tok/t1/" },
  { siteId: "s2", ocaId: "b", url: "https://cdn.test/oca/s2/b/tok/t1/" },
];
const SERVER = "https://cdn.test/v1/steering/st/t1/steering.json";
const GROUP_NAMES = ["AUDIO", "VIDEO", "SUBTITLES", "CLOSED-CAPTIONS"];

/** What a player reads of a multivariant playlist: variants (with their URI line), I-frame variants, renditions, whole-playlist tags. */
function read(text: string) {
  const lines = text.split(/\r?\n/);
  const variants: Array<{ attrs: ReturnType<typeof hlsAttributes>; uri: string | undefined }> = [];
  const iframes: Array<ReturnType<typeof hlsAttributes>> = [];
  const media: Array<ReturnType<typeof hlsAttributes>> = [];
  const other: string[] = [];
  let pending: (typeof variants)[number] | undefined;
  for (const line of lines) {
    if (!line.trim()) continue;
    if (line.startsWith("#EXT-X-STREAM-INF:")) {
      pending = { attrs: hlsAttributes(line), uri: undefined };
      variants.push(pending);
    } else if (line.startsWith("#EXT-X-I-FRAME-STREAM-INF:")) iframes.push(hlsAttributes(line));
    else if (line.startsWith("#EXT-X-MEDIA:")) media.push(hlsAttributes(line));
    else if (!line.startsWith("#")) {
      if (pending && pending.uri === undefined) pending.uri = line;
      pending = undefined;
    } else other.push(line);
  }
  return { variants, iframes, media, other };
}

/** The checks a stock player's Content Steering makes of the playlist, as failures (empty: it plays on every pathway). */
function playerProblems(text: string): string[] {
  const { variants, iframes, media, other } = read(text);
  const problems: string[] = [];
  const inOca = (u: string | undefined, what: string) => {
    if (u === undefined || !PATHWAYS.some((p) => u.startsWith(p.url) && u.length > p.url.length))
      problems.push(`${what}: ${u} is no file of the title on an OCA`);
  };
  const groupsOfPathway = new Map<string, Set<string>>();
  for (const [what, list] of [
    ["variant", variants.map((v) => v.attrs)],
    ["I-frame variant", iframes],
  ] as const) {
    for (const attrs of list) {
      const ids = attrs.filter((a) => a.name === "PATHWAY-ID");
      if (ids.length !== 1) problems.push(`${what} has ${ids.length} PATHWAY-IDs`);
      const pathway = hlsAttribute(attrs, "PATHWAY-ID") ?? "";
      for (const name of GROUP_NAMES) {
        const g = hlsAttribute(attrs, name);
        if (g === undefined || !attrs.find((a) => a.name === name)?.raw.startsWith('"')) continue;
        const set = groupsOfPathway.get(pathway) ?? new Set<string>();
        set.add(`${name === "CLOSED-CAPTIONS" ? "CLOSED-CAPTIONS" : name}\n${g}`);
        groupsOfPathway.set(pathway, set);
      }
    }
  }
  for (const v of variants) inOca(v.uri, `variant of pathway ${hlsAttribute(v.attrs, "PATHWAY-ID")}`);
  for (const f of iframes) inOca(hlsAttribute(f, "URI"), "I-frame variant");
  const groups = new Set<string>();
  for (const m of media) {
    const group = `${hlsAttribute(m, "TYPE")}\n${hlsAttribute(m, "GROUP-ID")}`;
    groups.add(group);
    const named = [...groupsOfPathway].filter(([, set]) => set.has(group)).map(([p]) => p);
    if (named.length !== 1) problems.push(`group ${group} is named by ${named.length} pathways' variants`);
    if (hlsAttribute(m, "URI") !== undefined) inOca(hlsAttribute(m, "URI"), `rendition ${hlsAttribute(m, "NAME")}`);
  }
  for (const [pathway, set] of groupsOfPathway)
    for (const g of set) if (!groups.has(g)) problems.push(`pathway ${pathway} names group ${g}, which no rendition is in`);
  for (const line of other) {
    if (line.startsWith("#EXT-X-CONTENT-STEERING")) continue;
    const uri = hlsAttribute(hlsAttributes(line), "URI");
    if (uri !== undefined && !uri.startsWith("skd://")) inOca(uri, line.slice(0, line.indexOf(":")));
  }
  return problems;
}

const HEAD = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n";

describe("a steered HLS playlist whose quoted strings hold other attributes' names", () => {
  it("points each rendition's own URI attribute at the OCA, not text inside its NAME", () => {
    const master = `${HEAD}#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Mix,URI=",LANGUAGE="en",URI="audio/aac-en/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud"
video/avc-240p/index.m3u8
`;
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    for (const p of PATHWAYS)
      expect(text).toContain(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud-${p.ocaId}",NAME="Mix,URI=",LANGUAGE="en",URI="${p.url}audio/aac-en/index.m3u8"`);
    expect(playerProblems(text)).toEqual([]);
  });

  it("points an I-frame variant's and a session tag's own URI at the OCA", () => {
    const master = `${HEAD}#EXT-X-SESSION-DATA:DATA-ID="com.example.chapters,URI=",URI="chapters.json"
#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001e"
video/avc-240p/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001e,URI=",URI="video/avc-240p/iframes.m3u8"
`;
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    expect(text).toContain(`#EXT-X-SESSION-DATA:DATA-ID="com.example.chapters,URI=",URI="${PATHWAYS[0].url}chapters.json"`);
    for (const p of PATHWAYS)
      expect(text).toContain(
        `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001e,URI=",URI="${p.url}video/avc-240p/iframes.m3u8",PATHWAY-ID="${p.ocaId}"`,
      );
    expect(playerProblems(text)).toEqual([]);
  });

  it("suffixes the group a variant's AUDIO attribute names, not text inside its CODECS", () => {
    const master = `${HEAD}#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",URI="audio/aac-en/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001e,AUDIO=",AUDIO="aud"
video/avc-240p/index.m3u8
`;
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    for (const p of PATHWAYS)
      expect(text).toContain(
        `#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001e,AUDIO=",AUDIO="aud-${p.ocaId}",PATHWAY-ID="${p.ocaId}"\n${p.url}video/avc-240p/index.m3u8`,
      );
    expect(playerProblems(text)).toEqual([]);
  });

  it("suffixes a rendition's GROUP-ID attribute, not text inside its NAME", () => {
    const master = `${HEAD}#EXT-X-MEDIA:TYPE=AUDIO,NAME="Main GROUP-ID=",GROUP-ID="aud",URI="audio/aac-en/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,AUDIO="aud"
video/avc-240p/index.m3u8
`;
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    for (const p of PATHWAYS)
      expect(text).toContain(`#EXT-X-MEDIA:TYPE=AUDIO,NAME="Main GROUP-ID=",GROUP-ID="aud-${p.ocaId}",URI="${p.url}audio/aac-en/index.m3u8"`);
    expect(playerProblems(text)).toEqual([]);
  });
});

describe("a steered HLS playlist with tags between a variant and its URI line", () => {
  const master = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=500000,AUDIO="aud"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",URI="audio/aac-en/index.m3u8"
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="Orbit"
# a comment
video/avc-240p/index.m3u8
`;

  it("keeps those tags: the rendition cloned per pathway, the session tag once", () => {
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    for (const p of PATHWAYS) {
      expect(text).toContain(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud-${p.ocaId}",NAME="English",URI="${p.url}audio/aac-en/index.m3u8"`);
      expect(text).toContain(`#EXT-X-STREAM-INF:BANDWIDTH=500000,AUDIO="aud-${p.ocaId}",PATHWAY-ID="${p.ocaId}"\n${p.url}video/avc-240p/index.m3u8`);
    }
    expect(text.split("\n").filter((l) => l === '#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="Orbit"')).toHaveLength(1);
    expect(playerProblems(text)).toEqual([]);
  });

  it("reads CRLF line ends as LF ones", () => {
    expect(steeredHlsPlaylist(master.replace(/\n/g, "\r\n"), PATHWAYS, SERVER)).toBe(steeredHlsPlaylist(master, PATHWAYS, SERVER));
  });
});

describe("a steered HLS playlist's variants without a URI line", () => {
  it("drops such a variant rather than point it at the title's root, and keeps the next variant's tag", () => {
    const master = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=100000
#EXT-X-STREAM-INF:BANDWIDTH=500000
video/avc-240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000
`;
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    for (const p of PATHWAYS) {
      const mine = text.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF:") && l.endsWith(`PATHWAY-ID="${p.ocaId}"`));
      expect(mine).toEqual([`#EXT-X-STREAM-INF:BANDWIDTH=500000,PATHWAY-ID="${p.ocaId}"`]);
    }
    expect(playerProblems(text)).toEqual([]);
  });
  it("drops an I-frame variant without a URI attribute, which names no playlist", () => {
    const master = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=500000\nvideo/avc-240p/index.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001e"\n`;
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    expect(text).not.toContain("#EXT-X-I-FRAME-STREAM-INF");
    expect(playerProblems(text)).toEqual([]);
  });
});

describe("a steered HLS playlist made from one that names pathways already", () => {
  it("gives each variant and I-frame variant one PATHWAY-ID, its OCA's", () => {
    const master = `${HEAD}#EXT-X-CONTENT-STEERING:SERVER-URI="https://elsewhere.example/steer.json",PATHWAY-ID="cdn-1"
#EXT-X-STREAM-INF:PATHWAY-ID="cdn-1",BANDWIDTH=500000
video/avc-240p/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,PATHWAY-ID="cdn-1",URI="video/avc-240p/iframes.m3u8"
`;
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    for (const p of PATHWAYS) {
      expect(text).toContain(`#EXT-X-STREAM-INF:BANDWIDTH=500000,PATHWAY-ID="${p.ocaId}"\n`);
      expect(text).toContain(`#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="${p.url}video/avc-240p/iframes.m3u8",PATHWAY-ID="${p.ocaId}"\n`);
    }
    expect(text).not.toContain("cdn-1");
    expect(text).not.toContain("elsewhere.example");
    expect(playerProblems(text)).toEqual([]);
  });
});

describe("the attribute-list helpers the steered playlist is written with", () => {
  it("change several attributes in one pass, each by its own name", () => {
    const tag = '#EXT-X-MEDIA:TYPE=AUDIO,NAME="a,URI=",GROUP-ID="g",URI="x.m3u8",DEFAULT=YES';
    const out = withHlsAttributeValues(tag, hlsAttributes(tag), (name, v) => (name === "URI" ? `/${v}` : name === "GROUP-ID" ? `${v}-1` : undefined));
    expect(out).toBe('#EXT-X-MEDIA:TYPE=AUDIO,NAME="a,URI=",GROUP-ID="g-1",URI="/x.m3u8",DEFAULT=YES');
  });

  it("remove an attribute wherever it stands in the list, with one comma", () => {
    const cut = (tag: string) => withoutHlsAttribute(tag, hlsAttributes(tag), "PATHWAY-ID");
    expect(cut('#T:PATHWAY-ID="x",A=1')).toBe("#T:A=1");
    expect(cut('#T:A=1,PATHWAY-ID="x",B="PATHWAY-ID=,"')).toBe('#T:A=1,B="PATHWAY-ID=,"');
    expect(cut('#T:A=1,PATHWAY-ID="x"')).toBe("#T:A=1");
    expect(cut('#T:PATHWAY-ID="x",PATHWAY-ID="y",A=1')).toBe("#T:A=1");
    expect(cut('#T:PATHWAY-ID="x"')).toBe("#T:");
    expect(cut("#T:A=1")).toBe("#T:A=1");
  });
});
