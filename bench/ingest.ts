/**
 * `npm run bench:ingest [-- --runs 5 --seconds 16 --height 720 --jobs N]`
 *
 * Encodes the same source serially (one encode task for the whole title, one worker) and
 * chunked-parallel (4 s chunks on a pool of one worker per core), each as a whole `ingest` process
 * (`--until encode`: probe, validation, ladder probe and encode, in a fresh work dir so nothing
 * is reused), several times, interleaved so background load hits both alike. Reports the medians
 * of the whole-process wall times and of the encode stage alone, and their ratios; also a
 * chunked run on one worker, which shows what chunking itself costs. Writes bench/out/ingest.json.
 * Exits 1 when chunked-parallel is not faster than serial.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeSource } from "../ingest/fixtures";
import { median } from "../shared/stats";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    seconds: { type: "string", default: "16" },
    height: { type: "string", default: "720" },
    jobs: { type: "string" },
    "no-chunked-serial": { type: "boolean" },
  },
});
const runs = Math.max(1, Number(values.runs));
const seconds = Number(values.seconds);
const height = Number(values.height);
const width = Math.round((height * 16) / 9 / 2) * 2;
const cores = availableParallelism();
const jobs = Number(values.jobs ?? cores);
const SEGMENT = 4;

interface Mode {
  name: string;
  jobs: number;
  chunkSeconds: number;
}
const modes: Mode[] = [
  { name: "serial", jobs: 1, chunkSeconds: seconds },
  { name: "chunked-parallel", jobs, chunkSeconds: SEGMENT },
  ...(values["no-chunked-serial"] ? [] : [{ name: "chunked-serial", jobs: 1, chunkSeconds: SEGMENT }]),
];

interface Run {
  wallS: number;
  encodeS: number;
  validateS: number;
  ladderS: number;
  tasks: number;
}

function ingestOnce(source: string, mode: Mode, workDir: string): Promise<Run> {
  const args = [
    "--import",
    "tsx",
    "ingest/cli.ts",
    source,
    "--title-id",
    "bench",
    "--title",
    "Bench",
    "--until",
    "encode",
    "--json",
    "--progress",
    "none",
    "--out",
    workDir,
    "--jobs",
    String(mode.jobs),
    "--segment-seconds",
    String(SEGMENT),
    "--chunk-seconds",
    String(mode.chunkSeconds),
  ];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`${mode.name}: exit ${code}\n${stderr}`));
      const r = JSON.parse(stdout) as { times: Record<string, number>; encode: { tasks: number } };
      resolve({ wallS, encodeS: r.times.encode, validateS: r.times.validate, ladderS: r.times.ladder, tasks: r.encode.tasks });
    });
  });
}

const tmp = await mkdtemp(path.join(tmpdir(), "bench-ingest-"));
try {
  const source = path.join(tmp, "source.mp4");
  // moving test pattern with light temporal noise: typical complexity, 2 s source GOP
  await makeSource(source, {
    width,
    height,
    seconds,
    gop: 50,
    video: `testsrc2=s=${width}x${height}:r=25,noise=alls=8:allf=t`,
  });
  const loadBefore = loadavg();
  console.log(
    `source: ${width}x${height} 25 fps, ${seconds} s; ${cores} core(s) (${cpus()[0]?.model ?? "?"}), load ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(`modes: ${modes.map((m) => `${m.name} (jobs ${m.jobs}, chunks of ${m.chunkSeconds} s)`).join("; ")}; ${runs} run(s) each, interleaved\n`);
  const results: Record<string, Run[]> = Object.fromEntries(modes.map((m) => [m.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const mode of i % 2 ? [...modes].reverse() : modes) {
      const work = path.join(tmp, `work-${mode.name}-${i}`);
      const r = await ingestOnce(source, mode, work);
      await rm(work, { recursive: true, force: true });
      results[mode.name].push(r);
      console.log(`run ${i + 1} ${mode.name.padEnd(17)} whole process ${r.wallS.toFixed(2)} s, encode stage ${r.encodeS.toFixed(2)} s (${r.tasks} task(s))`);
    }
  }
  const summary = Object.fromEntries(
    modes.map((m) => [
      m.name,
      {
        jobs: m.jobs,
        chunkSeconds: m.chunkSeconds,
        medianWallS: median(results[m.name].map((r) => r.wallS)),
        medianEncodeS: median(results[m.name].map((r) => r.encodeS)),
        runs: results[m.name],
      },
    ]),
  );
  const serial = summary.serial;
  const parallel = summary["chunked-parallel"];
  const ratioWall = serial.medianWallS / parallel.medianWallS;
  const ratioEncode = serial.medianEncodeS / parallel.medianEncodeS;
  console.log(`\nmedians (whole process / encode stage):`);
  for (const m of modes) console.log(`  ${m.name.padEnd(17)} ${summary[m.name].medianWallS.toFixed(2)} s / ${summary[m.name].medianEncodeS.toFixed(2)} s`);
  console.log(`serial / chunked-parallel: ${ratioWall.toFixed(2)}x whole process, ${ratioEncode.toFixed(2)}x encode stage`);
  const out = {
    benchmark: "ingest: serial vs chunked-parallel encode",
    command: `npm run bench:ingest -- --runs ${runs} --seconds ${seconds} --height ${height}${values.jobs ? ` --jobs ${jobs}` : ""}`,
    date: new Date().toISOString(),
    machine: { cores, cpu: cpus()[0]?.model ?? null, loadavgBefore: loadBefore, loadavgAfter: loadavg(), node: process.version },
    source: {
      width,
      height,
      fps: 25,
      seconds,
      segmentSeconds: SEGMENT,
      ladder: "default heights up to the source, H.264, x264 veryfast, one thread per encode",
    },
    modes: summary,
    ratio: { wholeProcess: ratioWall, encodeStage: ratioEncode },
    chunkedParallelIsFaster: ratioWall > 1,
  };
  await mkdir(path.join(ROOT, "bench", "out"), { recursive: true });
  await writeFile(path.join(ROOT, "bench", "out", "ingest.json"), JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote bench/out/ingest.json`);
  if (ratioWall <= 1) {
    console.error("chunked-parallel was NOT faster than serial");
    process.exitCode = 1;
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
