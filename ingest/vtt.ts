/** WebVTT (and SRT) subtitle checks and normalisation for packaging. */

export interface Cue {
  start: number;
  end: number;
  text: string;
}

export interface ParsedSubtitles {
  cues: Cue[];
  problems: string[];
}

const TIME = /^(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3})$/;

function parseTime(s: string): number | null {
  const m = TIME.exec(s.trim());
  if (!m) return null;
  const [, h, mm, ss, ms] = m;
  if (Number(mm) > 59 || Number(ss) > 59) return null;
  return Number(h ?? 0) * 3600 + Number(mm) * 60 + Number(ss) + Number(ms) / 1000;
}

/**
 * Parses WebVTT or SRT text into cues, collecting every problem found (missing header,
 * malformed timings, cues ending before they start, cues after the end of the video).
 */
export function parseSubtitles(text: string, kind: "vtt" | "srt", videoDurationS?: number): ParsedSubtitles {
  const problems: string[] = [];
  const body = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const blocks = body.split(/\n{2,}/);
  if (kind === "vtt") {
    if (!/^WEBVTT(?:[ \t].*)?$/.test(blocks[0]?.split("\n")[0] ?? "")) problems.push('does not start with "WEBVTT"');
    blocks.shift();
  }
  const cues: Cue[] = [];
  for (const block of blocks) {
    const lines = block.split("\n").filter((l, i) => i > 0 || l.trim() !== "");
    if (lines.length === 0) continue;
    if (kind === "vtt" && /^(NOTE|STYLE|REGION)\b/.test(lines[0])) continue;
    const timingIdx = lines.findIndex((l) => l.includes("-->"));
    if (timingIdx < 0) {
      problems.push(`block without a timing line: ${JSON.stringify(lines[0].slice(0, 40))}`);
      continue;
    }
    const [a, rest] = lines[timingIdx].split("-->");
    const start = parseTime(a);
    const end = parseTime((rest ?? "").trim().split(/\s+/)[0] ?? "");
    if (start === null || end === null) {
      problems.push(`malformed timing ${JSON.stringify(lines[timingIdx])}`);
      continue;
    }
    if (end <= start) problems.push(`cue ends before it starts (${lines[timingIdx]})`);
    if (videoDurationS !== undefined && start > videoDurationS + 1)
      problems.push(`cue at ${start.toFixed(3)} s starts after the video ends (${videoDurationS.toFixed(3)} s)`);
    cues.push({ start, end, text: lines.slice(timingIdx + 1).join("\n") });
  }
  if (cues.length === 0) problems.push("no cues");
  return { cues, problems };
}

function vttTime(s: number): string {
  const ms = Math.round(s * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}.${String(ms % 1000).padStart(3, "0")}`;
}

/**
 * The WebVTT file we publish: the cues as given, with an X-TIMESTAMP-MAP header (cue time 0 ==
 * media time 0; our fMP4 tracks start at decode time 0), which hls.js and Safari use to align
 * subtitles, and which DASH players ignore as a header line.
 */
export function normalisedWebvtt(cues: Cue[]): string {
  const out = ["WEBVTT", "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000", ""];
  cues.forEach((c, i) => {
    out.push(String(i + 1), `${vttTime(c.start)} --> ${vttTime(c.end)}`, c.text, "");
  });
  return out.join("\n");
}

/** Cues spread evenly over a duration (used by the demo catalogue's generated subtitles). */
export function evenCues(lines: string[][], durationS: number): Cue[] {
  const slot = durationS / lines.length;
  return lines.map((text, i) => ({ start: i * slot + 0.5, end: (i + 1) * slot - 0.5, text: text.join("\n") }));
}
