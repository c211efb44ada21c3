/**
 * Progress of each stage: bars redrawn in place on a terminal, plain log lines otherwise (CI,
 * pipes, files). Everything goes to stderr, so `--json` output on stdout stays clean.
 */
export interface StageProgress {
  /** done/total in the stage's unit; `detail` is shown next to the bar */
  update(done: number, total?: number, detail?: string): void;
  /** the stage ended; the summary is printed once */
  finish(summary: string): void;
}

export interface Reporter {
  stage(name: string, total: number, unit: string): StageProgress;
  log(message: string): void;
  close(): void;
}

export type ProgressMode = "bars" | "plain" | "none";

export function autoMode(stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  return stream.isTTY && process.env.TERM !== "dumb" && !process.env.CI ? "bars" : "plain";
}

const fmtTime = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Active {
  name: string;
  done: number;
  total: number;
  unit: string;
  detail: string;
  startedAt: number;
  lastPlainAt: number;
  lastPlainFraction: number;
}

export function createReporter(opts: { mode?: ProgressMode; prefix?: string; stream?: NodeJS.WriteStream; write?: (line: string) => void } = {}): Reporter {
  const stream = opts.stream ?? process.stderr;
  const mode = opts.mode ?? autoMode(stream);
  const prefix = opts.prefix ? `${opts.prefix} ` : "";
  const write = opts.write ?? ((line: string) => void stream.write(line + "\n"));
  const active: Active[] = [];
  let drawn = 0;
  let timer: NodeJS.Timeout | null = null;
  const width = () => Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));

  // clear() moves up one row per bar: a bar as wide as the terminal would wrap onto more rows and leave
  // them behind at every redraw, so each is cut short of the last column (when the width is known).
  const toWidth = (line: string) => {
    const columns = stream.columns;
    if (!columns || columns < 2) return line;
    const chars = Array.from(line);
    return chars.length < columns ? line : chars.slice(0, columns - 1).join("");
  };
  const clear = () => {
    if (mode !== "bars" || drawn === 0) return;
    stream.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    if (mode !== "bars") return;
    clear();
    for (const a of active) {
      const f = a.total > 0 ? Math.min(1, a.done / a.total) : 0;
      const w = width();
      const full = Math.round(f * w);
      const bar = "█".repeat(full) + "░".repeat(w - full);
      const count = a.unit === "%" ? `${Math.round(f * 100)}%` : `${a.done}/${a.total} ${a.unit}`;
      stream.write(
        `${toWidth(`${prefix}${a.name.padEnd(9)} ${bar} ${count.padEnd(16)} ${fmtTime(Date.now() - a.startedAt)}${a.detail ? `  ${a.detail}` : ""}`)}\n`,
      );
    }
    drawn = active.length;
  };
  const schedule = () => {
    if (mode !== "bars" || timer) return;
    timer = setTimeout(() => {
      timer = null;
      draw();
    }, 100);
  };

  return {
    stage(name, total, unit) {
      const a: Active = { name, done: 0, total, unit, detail: "", startedAt: Date.now(), lastPlainAt: Date.now(), lastPlainFraction: 0 };
      active.push(a);
      if (mode === "plain") write(`${prefix}[${name}] started`);
      schedule();
      return {
        update(done, newTotal, detail) {
          a.done = done;
          if (newTotal !== undefined) a.total = newTotal;
          if (detail !== undefined) a.detail = detail;
          if (mode === "plain") {
            const f = a.total > 0 ? a.done / a.total : 0;
            // a line every quarter, or every 10 s on long stages
            if (f - a.lastPlainFraction >= 0.25 || (Date.now() - a.lastPlainAt > 10_000 && f > a.lastPlainFraction)) {
              a.lastPlainFraction = f;
              a.lastPlainAt = Date.now();
              const count = a.unit === "%" ? `${Math.round(f * 100)}%` : `${a.done}/${a.total} ${a.unit}`;
              write(`${prefix}[${name}] ${count} (${fmtTime(Date.now() - a.startedAt)})${a.detail ? ` ${a.detail}` : ""}`);
            }
          }
          schedule();
        },
        finish(summary) {
          const i = active.indexOf(a);
          if (i >= 0) active.splice(i, 1);
          if (mode === "none") return;
          clear();
          write(`${prefix}[${name}] ${summary} (${fmtTime(Date.now() - a.startedAt)})`);
          draw();
        },
      };
    },
    log(message) {
      if (mode === "none") return;
      clear();
      write(`${prefix}${message}`);
      draw();
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = null;
      clear();
    },
  };
}
