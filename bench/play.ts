/**
 * `npm run bench:play`: the hot paths on the local runtime (wrangler dev / workerd), each as a ratio to
 * a baseline measured in the same run, with autocannon as the load generator:
 *  - POST /v1/play vs a route that makes one Durable Object call and nothing else (and vs GET /v1, a
 *    trivial route, and a route making one D1 read);
 *  - a Content Steering poll vs the trivial route, its sessions polled as players are in the steady
 *    state (one poll in TOUCH_EVERY_MS / TTL tells the member's object the stream is alive);
 *  - segments through an OCA URL from the colo cache vs the same segments read from R2 each time, vs a
 *    bare R2-reading route (the object whole and nothing else: the data plane's own cost), and vs a
 *    plain static file server (nginx when installed, else Node) serving them from disk.
 * Every play is a new member (minted with the stack's member secret, as a real population is) from an
 * address of its own (CF-Connecting-IP), so the per-member and per-IP limits are called but never trip.
 * Each scenario runs SECONDS seconds per round, next to its baseline; rates are medians of ROUNDS
 * rounds, and each ratio is the median over rounds of the ratio within a round. A run after one that made
 * a new object per request waits out their eviction. Writes bench/out/play.json.
 */
import { createHmac } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { catalogueDir } from "../r2-seed/build-catalogue";
import { startLocalStack } from "../r2-seed/local-stack";
import { busiestThreadMs, cpuDelta, threadCpuMs, treeCpuMs, treePids, workerCpuMs } from "./process-cpu";
import { startCpuProfile, topFunctions } from "./cpu-profile";
import { median } from "../shared/stats";
import { TOUCH_EVERY_MS } from "../shared/stream-touch";
import { originKey } from "../shared/file-keys";
import { hasWrk, runWrk } from "./wrk";

const ROUNDS = Number(process.env.ROUNDS ?? 6);
/** Seconds each scenario runs per round (autocannon ends runs on whole seconds, so runs are timed, not counted). */
const SECONDS = Number(process.env.SECONDS ?? 5);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);

/** A distinct IPv4 address (in 10.0.0.0/8) per client number. */
const clientAddress = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64url");

/** An HS256 member token, as the Worker's dev route would sign it. */
function memberJwt(secret: string, id: string): string {
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64(JSON.stringify({ sub: id, plan: "premium", iat: now, exp: now + 86400 }))}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

interface Run {
  requests: number;
  rps: number;
  p50: number;
  bytesPerS: number;
  non2xx: number;
  /** Responses by status other than 2xx (a 5xx here is a defect, whatever the rates say). */
  failedBy: Record<string, number>;
  /**
   * Share of the wall time the busiest workerd thread was on a core (0-1). Locally the Worker and all
   * its Durable Objects run on one thread: near 1, that thread, not the machine, bounds the rate.
   */
  busiestThread: number;
  /**
   * CPU ms per request: workerd (both processes), the Worker's workerd alone (the Worker and its
   * objects), wrangler's proxy workerd, wrangler's Node process, and this process (autocannon).
   */
  cpuMsPerReq: { workerd: number; worker: number; proxy: number; wrangler: number; loadGenerator: number };
}

/** The wrangler dev process, whose tree holds workerd: set once the stack is up. */
let wranglerPid = 0;

type Shape = { method?: "GET" | "POST"; path?: string; headers?: Record<string, string>; body?: string };

/** autocannon's counts by status, the non-2xx ones (and connection errors as "error"). */
function failedByStatus(r: autocannon.Result, errors: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [status, s] of Object.entries(r.statusCodeStats ?? {})) if (!status.startsWith("2")) out[status] = s.count ?? 0;
  if (errors) out.error = errors;
  return out;
}

/** What one load generator's run gave, before the processes' CPU is added. */
interface Drive {
  requests: number;
  p50: number;
  bytes: number;
  non2xx: number;
  failedBy: Record<string, number>;
  /** CPU the load generator spent (ms), when it is another process (wrk); else this process's is read. */
  loadGeneratorCpuMs?: number;
}

/** Runs `drive` and reads, from `/proc`, what each process of the stack spent on it. */
async function measure(drive: () => Promise<Drive>): Promise<Run> {
  const cpu0 = treeCpuMs(wranglerPid);
  const workerdPids = treePids(wranglerPid, "workerd");
  const threads0 = threadCpuMs(workerdPids);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const d = await drive();
  // autocannon reports whole seconds; the wall time around it is exact.
  const seconds = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  const cpu = cpuDelta(cpu0, treeCpuMs(wranglerPid));
  const busiestThread = busiestThreadMs(threads0, threadCpuMs(workerdPids)) / 1000 / seconds;
  const n = Math.max(1, d.requests);
  const workerd = Object.entries(cpu).reduce((s, [k, v]) => s + (k.startsWith("workerd") ? v : 0), 0);
  const worker = cpu["workerd:worker"] ?? 0;
  const proxy = cpu["workerd:proxy"] ?? 0;
  return {
    requests: d.requests,
    rps: d.requests / seconds,
    p50: d.p50,
    bytesPerS: d.bytes / seconds,
    non2xx: d.non2xx,
    failedBy: d.failedBy,
    busiestThread,
    cpuMsPerReq: {
      workerd: workerd / n,
      worker: worker / n,
      proxy: proxy / n,
      wrangler: (cpu.node ?? 0) / n,
      loadGenerator: (d.loadGeneratorCpuMs ?? (own.user + own.system) / 1000) / n,
    },
  };
}

/** SECONDS of requests (or `amount` requests) with CONCURRENCY connections, by autocannon; `next` shapes each request. */
function run(url: string, next?: (i: number) => Shape, amount?: number): Promise<Run> {
  let i = 0;
  return measure(async () => {
    const r = await autocannon({
      url,
      connections: CONCURRENCY,
      ...(amount ? { amount } : { duration: SECONDS }),
      requests: [
        {
          setupRequest: (req) => {
            const n = next?.(i++);
            return (n ? { ...req, ...n, headers: { ...req.headers, ...n.headers } } : req) as typeof req;
          },
        },
      ],
    });
    return { requests: r.requests.total, p50: r.latency.p50, bytes: r.throughput.total, non2xx: r.non2xx + r.errors, failedBy: failedByStatus(r, r.errors) };
  });
}

/** The segment scenarios' load generator: wrk when installed (LOADGEN=autocannon forces autocannon). */
const segmentLoadGenerator = process.env.LOADGEN !== "autocannon" && hasWrk() ? "wrk" : "autocannon";

/** SECONDS of GETs cycling through `paths` with fixed headers, by the segment load generator. */
function runPaths(url: string, paths: string[], headers?: Record<string, string>): Promise<Run> {
  if (segmentLoadGenerator === "autocannon") return run(url, (i) => ({ path: paths[i % paths.length], headers }));
  return measure(async () => {
    const r = await runWrk(url, paths, { seconds: SECONDS, connections: CONCURRENCY, headers });
    const failedBy: Record<string, number> = {};
    if (r.failed.status) failedBy["4xx/5xx"] = r.failed.status;
    if (r.failed.socket) failedBy.error = r.failed.socket;
    return { requests: r.requests, p50: r.p50Ms, bytes: r.bytes, non2xx: r.failed.status + r.failed.socket, failedBy, loadGeneratorCpuMs: r.cpuMs };
  });
}

/**
 * Scenarios that make a new Durable Object per request: some 5-11 s after such a run ends, workerd evicts
 * the objects it made (idle about 10 s), a few seconds' burst on the Worker's thread that would land on
 * whichever scenario ran next. After these, the next run waits until that is over.
 */
const MAKES_OBJECTS = new Set(["oneDo", "play", "oneDoAcquire"]);
const EVICTION_AFTER_MS = 12_000;
const SETTLE_MAX_MS = 30_000;

/** Waits EVICTION_AFTER_MS, then until the Worker's process has spent under 3 % of a core for 1 s (at most SETTLE_MAX_MS in all). */
async function settle(): Promise<void> {
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, EVICTION_AFTER_MS));
  for (;;) {
    const a = workerCpuMs(wranglerPid);
    await new Promise((r) => setTimeout(r, 1000));
    if ((workerCpuMs(wranglerPid) - a) / 1000 < 0.03 || performance.now() - t0 > SETTLE_MAX_MS) return;
  }
}

/** A static server for the baseline: nginx if the machine has it, else Node. */
async function staticServer(root: string): Promise<{ url: string; name: string; stop: () => void }> {
  if (spawnSync("sh", ["-c", "command -v nginx"]).status === 0) {
    const dir = await mkdtemp(path.join(tmpdir(), "nginx-bench-"));
    const port = 18000 + Math.floor(Math.random() * 1000);
    // Run as the invoking user so nginx can read the catalogue cache under its home.
    const user = process.getuid?.() === 0 ? "user root;" : "";
    const conf = `${user} daemon off; worker_processes 1; error_log ${dir}/error.log; pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http { access_log off; sendfile on; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; root ${root}; } }`;
    await writeFile(path.join(dir, "nginx.conf"), conf);
    const child = spawn("nginx", ["-c", path.join(dir, "nginx.conf")], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 500));
    return { url: `http://127.0.0.1:${port}`, name: "nginx", stop: () => child.kill() };
  }
  const server = createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const stream = createReadStream(file);
    stream.on("error", () => res.writeHead(404).end());
    stream.once("open", () => res.writeHead(200, { "Content-Type": "video/iso.segment" }));
    stream.pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, name: "node-static", stop: () => server.close() };
}

// The local state (every new member's object is a new SQLite file) in memory when the machine has a
// tmpfs: the baselines and subjects then differ by the runtime's work, not by this disk's latency.
const stateParent = existsSync("/dev/shm") ? "/dev/shm" : undefined;
const stack = await startLocalStack(undefined, { stateParent });
wranglerPid = stack.worker.child.pid ?? 0;
try {
  const base = stack.worker.url;
  const title = stack.catalogue.titles[0];
  const geo = "asn=64500;country=US;lat=40.71;lon=-74.0";
  let members = 0;
  let objects = 0;
  const playReq = () => ({
    method: "POST" as const,
    path: "/v1/play",
    headers: {
      Authorization: `Bearer ${memberJwt(stack.memberSecret, `bench-${members}`)}`,
      "Content-Type": "application/json",
      "X-Client-Geo": geo,
      // Each member from an address of its own, as a population is (the isolate counts every play
      // per address; from one address, 1,200 plays a minute would trip it).
      "CF-Connecting-IP": clientAddress(members++),
    },
    body: JSON.stringify({ titleId: title.id }),
  });
  /** `n` new play sessions' steering server paths, and the first one's OCA base URL. */
  const newSessions = async (n: number): Promise<{ paths: string[]; ocaUrl: string }> => {
    const paths: string[] = [];
    let ocaUrl = "";
    for (let k = 0; k < n; k++) {
      const r = playReq();
      const res = await fetch(`${base}${r.path}`, { method: r.method, headers: r.headers, body: r.body });
      const p = (await res.json()) as { steering: { server: string }; ocas: Array<{ url: string }> };
      paths.push(new URL(p.steering.server).pathname);
      ocaUrl ||= p.ocas[0].url;
    }
    return { paths, ocaUrl };
  };
  // Sessions to poll in the warm-up and the profile: steering is limited per session (120 a minute),
  // so the polls spread over many. The measured rounds poll pools sized to the warm-up's rate (below).
  const { paths: warmSessions, ocaUrl } = await newSessions(256);
  let sessions = warmSessions;
  // The lowest rung: small bodies, so the rate measures the serving path rather than the load generator.
  const segPaths = title.files.filter((f) => f.path.startsWith("video/avc-240p/seg-")).map((f) => f.path);
  const seg = (i: number) => new URL(`${ocaUrl}${segPaths[i % segPaths.length]}`).pathname;
  // The same segments by their origin keys, for the bare R2-reading route.
  const shaOf = new Map(title.files.map((f) => [f.path, f.sha256]));
  const segUrls = segPaths.map((_, i) => seg(i));
  const bareKeys = segPaths.map((p) => `/v1/dev/bench/r2/${originKey(title.id, p, shaOf.get(p)!)}`);
  const statics = await staticServer(catalogueDir());
  process.on("exit", () => statics.stop());

  // The colo cache is warm for these segments, and every response says so.
  let hits = 0;
  for (let i = 0; i < 60; i++) {
    const res = await fetch(`${base}${seg(i)}`);
    await res.arrayBuffer();
    if (i >= segPaths.length && res.headers.get("X-Cache") === "HIT") hits++;
  }
  const coloHitShare = hits / (60 - segPaths.length);

  // The steering pools of the measured rounds (see below) and when each last ran.
  let steeringPools: string[][] | null = null;
  const poolRanAt = new Map<string[], number>();
  let pollsPerTouch = Number.NaN;
  const scenarios: Partial<Record<string, () => Promise<Run>>> = {
    // Each subject runs beside its baselines in the same round (steering after the trivial route;
    // play between the one-object route and the admission route; the colo cache before
    // R2): drift on a shared two-core machine moves every rate by 20-30 % over a minute, and
    // neighbours move together.
    trivial: () => run(`${base}/v1`),
    steering: async () => {
      const pool = sessions;
      // A measured pool's touches are due again a minute after its last run (a subset's rounds are short).
      const wait = steeringPools ? (poolRanAt.get(pool) ?? 0) + TOUCH_EVERY_MS + 1000 - Date.now() : 0;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // A measured pool's run polls each session exactly as often as a player does per touch.
      const amount = steeringPools ? pool.length * pollsPerTouch : undefined;
      const r = await run(base, (i) => ({ path: pool[i % pool.length], headers: { "CF-Connecting-IP": clientAddress(i % pool.length) } }), amount);
      poolRanAt.set(pool, Date.now());
      return r;
    },
    // A new object each time, as each play is a new member: a warm object would flatter the baseline.
    oneDo: () => run(base, () => ({ path: `/v1/dev/bench/do/bench-do-${objects++}` })),
    play: () => run(base, () => playReq()),
    // The same call play makes (the member object takes a slot and writes it), a new object each time.
    oneDoAcquire: () => run(base, () => ({ path: `/v1/dev/bench/do-acquire/bench-acq-${objects++}` })),
    oneD1: () => run(base, () => ({ path: "/v1/dev/bench/d1" })),
    segColo: () => runPaths(base, segUrls),
    segBareR2: () => runPaths(base, bareKeys),
    segR2: () => runPaths(base, segUrls, { "X-Bench-No-Colo-Cache": "1" }),
    segStatic: () =>
      runPaths(
        statics.url,
        segPaths.map((p) => `/${title.id}/${p}`),
      ),
  };
  // ONLY=play,oneDo runs a subset (for finding where time goes; the README's figures run them all).
  const only = process.env.ONLY?.split(",");
  for (const k of Object.keys(scenarios) as Array<keyof typeof scenarios>) if (only && !only.includes(k)) delete scenarios[k];
  // Warm-up, then each measured run starts on a quiet Worker (see MAKES_OBJECTS).
  const warm: Record<string, Run> = {};
  for (const [name, f] of Object.entries(scenarios)) {
    if (!f) continue;
    warm[name] = await f();
    if (MAKES_OBJECTS.has(name)) await settle();
  }
  // PROFILE=1: one more run of each scenario under the inspector's CPU profiler (not counted in the rates).
  if (process.env.PROFILE) {
    for (const [name, f] of Object.entries(scenarios)) {
      if (!f) continue;
      const stop = await startCpuProfile();
      const r = await f();
      const profile = await stop();
      if (MAKES_OBJECTS.has(name)) await settle();
      const file = path.join(import.meta.dirname, "out", `${name}.cpuprofile`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(profile));
      const { busyMs, top } = topFunctions(profile);
      const requests = Math.max(1, r.requests);
      console.log(
        `profile ${name}: ${(busyMs / requests).toFixed(2)} ms of isolate time per request over ${r.requests} requests${r.non2xx ? ` (${r.non2xx} non-2xx: not the path you meant to profile)` : ""}; ${file} (open in Chrome DevTools)`,
      );
      console.table(top.map((t) => ({ ...t, perRequestMs: Number((t.selfMs / requests).toFixed(3)) })));
    }
  }
  // A player polls every steering TTL and tells its member's object it is alive at most once per
  // TOUCH_EVERY_MS (the isolate's throttle): in the steady state one poll in TOUCH_EVERY_MS / TTL makes
  // that object call. So the measured rounds poll two pools of sessions in turn (odd rounds one, even
  // rounds the other: more than a minute apart, so every session's touch is due when its pool's run
  // starts), each polled exactly that many times per session in a run.
  if (warm.steering) {
    const ttlS = ((await (await fetch(`${base}${warmSessions[0]}`)).json()) as { TTL?: unknown }).TTL;
    if (typeof ttlS !== "number" || !(ttlS > 0)) throw new Error(`steering answered no TTL (${String(ttlS)})`);
    pollsPerTouch = Math.max(1, Math.round(TOUCH_EVERY_MS / (ttlS * 1000)));
    // Sized for about SECONDS a run (the warm-up's first runs are slow: the faster of its two routes).
    const size = Math.max(8, Math.round((Math.max(warm.steering.rps, warm.trivial?.rps ?? 0) * SECONDS) / pollsPerTouch));
    steeringPools = [(await newSessions(size)).paths, (await newSessions(size)).paths];
    // One poll each, so the isolate has verified every session before it is measured, as it has a
    // player's after its first poll (its play counts as the stream's first activity: no touch yet).
    for (const pool of steeringPools) {
      for (const [k, path] of pool.entries()) await (await fetch(`${base}${path}`, { headers: { "CF-Connecting-IP": clientAddress(k) } })).arrayBuffer();
      poolRanAt.set(pool, Date.now());
    }
    await settle(); // their plays made new member objects
  }
  const rounds: Array<Record<string, Run>> = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const row: Record<string, Run> = {};
    // Every other round runs the scenarios in reverse, so no subject always follows its baseline: the
    // machine drifts within a round (the local object store grows by every new member's database).
    const order = Object.entries(scenarios);
    if (r % 2 === 0) order.reverse();
    if (steeringPools) sessions = steeringPools[r % 2];
    for (const [name, f] of order) {
      if (!f) continue;
      row[name] = await f();
      if (MAKES_OBJECTS.has(name)) await settle();
    }
    rounds.push(row);
    console.log(
      `round ${r}/${ROUNDS}: ${Object.entries(row)
        .map(
          ([k, v]) =>
            `${k} ${v.rps.toFixed(0)}/s p50 ${v.p50} ms workerd ${v.cpuMsPerReq.workerd.toFixed(2)} ms/req (Worker ${v.cpuMsPerReq.worker.toFixed(2)}) busiest thread ${(v.busiestThread * 100).toFixed(0)} %${v.non2xx ? ` (${v.non2xx} non-2xx: ${JSON.stringify(v.failedBy)})` : ""}`,
        )
        .join(", ")}`,
    );
  }
  statics.stop();
  type Measure = Exclude<keyof Run, "cpuMsPerReq" | "requests" | "failedBy">;
  // How busy the busiest workerd thread was in each scenario (medians): near 100 %, it bounds the rate.
  const busiestThreadShare = Object.fromEntries(Object.keys(rounds[0]).map((k) => [k, Number(median(rounds.map((r) => r[k].busiestThread)).toFixed(3))]));
  const m = (k: string, f: Measure) => (rounds[0][k] ? median(rounds.map((r) => r[k][f])) : Number.NaN);
  /** A ratio taken within each round (a run against its neighbour), then the median over rounds. */
  const ratio = (k: string, base: string, f: Measure = "rps") =>
    rounds[0][k] && rounds[0][base] ? median(rounds.map((r) => r[k][f] / r[base][f])) : Number.NaN;
  /**
   * The same, of the Worker's own CPU per request (the baseline's over the subject's: a rate ratio were
   * the Worker's process the only bound, as deployed, with no local proxy or load generator beside it).
   */
  const cpuRatio = (k: string, base: string) =>
    rounds[0][k] && rounds[0][base] ? median(rounds.map((r) => r[base].cpuMsPerReq.worker / r[k].cpuMsPerReq.worker)) : Number.NaN;
  // Where each scenario's CPU went, per request (medians): how much of the two cores the Worker itself took.
  const cpuMsPerRequest = Object.fromEntries(
    Object.keys(rounds[0]).map((k) => [
      k,
      Object.fromEntries(
        (["workerd", "worker", "proxy", "wrangler", "loadGenerator"] as const).map((p) => [
          p,
          Number(median(rounds.map((r) => r[k].cpuMsPerReq[p])).toFixed(3)),
        ]),
      ),
    ]),
  );
  const summary = {
    rounds: ROUNDS,
    secondsPerScenario: SECONDS,
    concurrency: CONCURRENCY,
    loadGenerator: "autocannon",
    segmentLoadGenerator,
    baselineServer: statics.name,
    trivialRps: m("trivial", "rps"),
    oneDoRps: m("oneDo", "rps"),
    oneDoAcquireRps: m("oneDoAcquire", "rps"),
    oneD1Rps: m("oneD1", "rps"),
    playRps: m("play", "rps"),
    playMedianMs: m("play", "p50"),
    playVsOneDo: ratio("play", "oneDo"),
    playVsOneDoAcquire: ratio("play", "oneDoAcquire"),
    oneDoAcquireVsOneDo: ratio("oneDoAcquire", "oneDo"),
    playVsTrivial: ratio("play", "trivial"),
    playVsOneDoByWorkerCpu: cpuRatio("play", "oneDo"),
    steeringRps: m("steering", "rps"),
    steeringVsTrivial: ratio("steering", "trivial"),
    steeringVsTrivialByWorkerCpu: cpuRatio("steering", "trivial"),
    steeringPollsPerTouch: pollsPerTouch,
    steeringSessionsPerPool: steeringPools?.[0].length ?? 0,
    coloHitShare,
    segColoMBps: m("segColo", "bytesPerS") / 1e6,
    segR2MBps: m("segR2", "bytesPerS") / 1e6,
    segBareR2MBps: m("segBareR2", "bytesPerS") / 1e6,
    segStaticMBps: m("segStatic", "bytesPerS") / 1e6,
    coloVsR2: ratio("segColo", "segR2", "bytesPerS"),
    coloVsBareR2: ratio("segColo", "segBareR2", "bytesPerS"),
    coloVsBareR2ByWorkerCpu: cpuRatio("segColo", "segBareR2"),
    r2VsBareR2: ratio("segR2", "segBareR2", "bytesPerS"),
    r2VsBareR2ByWorkerCpu: cpuRatio("segR2", "segBareR2"),
    coloVsStatic: ratio("segColo", "segStatic", "bytesPerS"),
    non2xx: rounds.reduce((s, r) => s + Object.values(r).reduce((t, v) => t + v.non2xx, 0), 0),
  };
  const failed: Record<string, number> = {};
  for (const r of rounds) for (const v of Object.values(r)) for (const [status, n] of Object.entries(v.failedBy)) failed[status] = (failed[status] ?? 0) + n;
  console.table(summary);
  console.log("busiest workerd thread, share of wall time (medians):");
  console.table(busiestThreadShare);
  console.log("CPU ms per request (medians):");
  console.table(cpuMsPerRequest);
  await mkdir(path.join(import.meta.dirname, "out"), { recursive: true });
  await writeFile(
    path.join(import.meta.dirname, "out", "play.json"),
    JSON.stringify({ summary, failedByStatus: failed, cpuMsPerRequest, busiestThreadShare, rounds }, null, 2),
  );
  console.log(Object.keys(failed).length ? `responses that failed, by status: ${JSON.stringify(failed)}` : "every response was 2xx");
  console.log("wrote bench/out/play.json");
} finally {
  await stack.stop();
}
