/**
 * wrk (a C load generator, `apt-get install wrk`) for the scenarios whose bodies are large: autocannon
 * parses every body in JavaScript (about 8 ms of its CPU per 240p segment), which made it, not the
 * server, the bound of the segment rates. wrk cycles through a list of paths with fixed headers.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** True when the machine has wrk. */
export const hasWrk = (): boolean => spawnSync("sh", ["-c", "command -v wrk"]).status === 0;

export interface WrkResult {
  requests: number;
  bytes: number;
  seconds: number;
  p50Ms: number;
  /** Responses with a status of 400 or more, and socket errors. */
  failed: { status: number; socket: number };
  /** CPU time wrk spent (ms), from the shell's `times`. */
  cpuMs: number;
}

const luaString = (s: string) => JSON.stringify(s); // a JSON string literal is a valid Lua one for these ASCII paths and headers

/** `seconds` of GETs on `base` with `connections` connections (one wrk thread), path after path of `paths`. */
export async function runWrk(
  base: string,
  paths: string[],
  opts: { seconds: number; connections: number; headers?: Record<string, string> },
): Promise<WrkResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "wrk-"));
  const script = path.join(dir, "paths.lua");
  await writeFile(
    script,
    `local paths = { ${paths.map(luaString).join(", ")} }
local i = 0
${Object.entries(opts.headers ?? {})
  .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
  .join("\n")}
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"bytes\\":%d,\\"durationUs\\":%d,\\"status\\":%d,\\"socket\\":%d,\\"p50Us\\":%d}\\n",
    summary.requests, summary.bytes, summary.duration, e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50)))
end
`,
  );
  try {
    // `times` after wrk prints the shell's children's CPU time: wrk's own.
    const cmd = `wrk -t1 -c${opts.connections} -d${opts.seconds}s -s '${script}' '${base}' && times`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn("sh", ["-c", cmd], { stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.on("data", (d) => (text += d));
      child.stderr.on("data", (d) => (text += d));
      child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk failed (${code}): ${text.slice(-500)}`))));
    });
    const json = /WRKJSON (\{.*\})/.exec(out);
    if (!json) throw new Error(`wrk printed no summary: ${out.slice(-500)}`);
    const s = JSON.parse(json[1]) as { requests: number; bytes: number; durationUs: number; status: number; socket: number; p50Us: number };
    // `times`: the shell's own user and system time, then its children's, as "XmY.YYYs XmY.YYYs".
    const lines = out.trim().split("\n");
    let cpuMs = 0;
    for (const [, m, sec] of lines[lines.length - 1].matchAll(/(\d+)m([\d.]+)s/g)) cpuMs += (Number(m) * 60 + Number(sec)) * 1000;
    return {
      requests: s.requests,
      bytes: s.bytes,
      seconds: s.durationUs / 1e6,
      p50Ms: s.p50Us / 1000,
      failed: { status: s.status, socket: s.socket },
      cpuMs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
