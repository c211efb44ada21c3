import { describe, expect, it } from "vitest";
import { createReporter } from "../../ingest/progress";

/**
 * The progress bars are redrawn in place: the reporter moves the cursor up one row per bar and erases
 * down. A bar longer than the terminal is wide wraps onto more rows than that, and every redraw would
 * leave rows of the old bars behind; so each bar is cut to the terminal's width.
 */

const ESC = String.fromCharCode(27);
const ESCAPES = new RegExp(`(${ESC}\\[\\d*[AJ])`);
const ESCAPE = new RegExp(`^${ESC}\\[(\\d*)([AJ])$`);

/** A terminal of `columns` (undefined: not known) that keeps the rows on screen, wrapping long lines. */
function fakeTerminal(columns: number | undefined) {
  const rows: string[] = [];
  let cursor = 0;
  let pending = "";
  const put = (line: string) => {
    const width = columns ?? Number.POSITIVE_INFINITY;
    const chars = Array.from(line);
    const n = Math.max(1, Math.ceil(chars.length / width));
    for (let i = 0; i < n; i++) rows[cursor++] = chars.slice(i * width, (i + 1) * width).join("");
  };
  const stream = {
    isTTY: true,
    columns,
    write(text: string) {
      // escapes: ESC[nA moves the cursor up n rows, ESC[0J erases from it down
      for (const part of text.split(ESCAPES)) {
        const esc = ESCAPE.exec(part);
        if (esc?.[2] === "A") cursor = Math.max(0, cursor - Number(esc[1] || 1));
        else if (esc?.[2] === "J") rows.length = cursor;
        else {
          pending += part;
          let nl: number;
          while ((nl = pending.indexOf("\n")) >= 0) {
            put(pending.slice(0, nl));
            pending = pending.slice(nl + 1);
          }
        }
      }
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, rows };
}

/** What the pipeline shows while encoding a feature in three codecs on 16 cores. */
function encodeStage(columns: number | undefined) {
  const term = fakeTerminal(columns);
  const reporter = createReporter({ mode: "bars", stream: term.stream });
  reporter.stage("validate", 100, "%").finish("ok: h264 1920x1080 24.000 fps");
  const encode = reporter.stage("encode", 518_400, "frames");
  encode.update(0, undefined, "900 chunks (900 at source keyframes) x 3 codec(s) on 16 worker(s)");
  const publish = reporter.stage("publish", 21_000, "files");
  for (let done = 0; done <= 300_000; done += 100_000) {
    encode.update(done);
    publish.update(done / 100, undefined, `${done / 1000}.0 MiB`);
    reporter.log(`chunk ${done}`); // a log line redraws the bars below it, at once
  }
  return { ...term, reporter };
}

describe("progress bars on a terminal", () => {
  it("on 80 columns, each bar takes one row and the redraws leave none of the old ones", () => {
    const { rows, reporter } = encodeStage(80);
    try {
      // the finished stage's line, four log lines, and the two bars: nothing else
      expect(rows).toHaveLength(1 + 4 + 2);
      expect(rows.filter((r) => r.startsWith("encode "))).toHaveLength(1);
      expect(rows.filter((r) => r.startsWith("publish "))).toHaveLength(1);
      // cut short of the last column (a line as wide as the terminal wraps early on some of them)
      for (const row of rows) expect(Array.from(row).length).toBeLessThanOrEqual(79);
      expect(rows.at(-2)).toMatch(/^encode +█+░+ 300000\/518400 frames/);
    } finally {
      reporter.close();
    }
  });

  it("with no width known, draws the whole line", () => {
    const { rows, reporter } = encodeStage(undefined);
    try {
      expect(rows.find((r) => r.startsWith("encode "))).toContain("900 chunks (900 at source keyframes) x 3 codec(s) on 16 worker(s)");
    } finally {
      reporter.close();
    }
  });
});
