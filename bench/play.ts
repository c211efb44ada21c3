/**
 * `npm run bench:play`: the play request and the data plane on the local runtime (wrangler dev /
 * workerd), each as a ratio to a baseline measured in the same run:
 *  - POST /v1/play (auth, D1 batch, steering, signing, session insert) vs GET /v1 (a trivial route);
 *  - segment bytes/s through an OCA URL (token check, R2 stream, Range) vs a plain static file server
 *    serving the same bytes from disk (nginx when installed, else Node's http + fs streams).
 * Medians of several rounds; writes bench/out/play.json.
 */
import { spawn, spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { catalogueDir } from "../r2-seed/build-catalogue";
import { pressPlay, startLocalStack } from "../r2-seed/local-stack";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const REQUESTS = Number(process.env.REQUESTS ?? 200);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs `n` requests with `c` in flight; returns per-request latencies (ms) and the wall time. */
async function load(n: number, c: number, one: () => Promise<number>): Promise<{ latencies: number[]; wallMs: number; bytes: number }> {
  const latencies: number[] = [];
  let bytes = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next++ < n) {
        const s = performance.now();
        bytes += await one();
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { latencies, wallMs: performance.now() - t0, bytes };
}

async function drain(res: Response): Promise<number> {
  let n = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) n += chunk.byteLength;
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return n;
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

const stack = await startLocalStack();
try {
  const title = stack.catalogue.titles[0];
  const geo = "asn=64500;country=US;lat=40.71;lon=-74.0";
  // Plays are rate limited per member (60 a minute): the load comes from a pool of members, as real load does.
  const MEMBERS = Math.max(8, Math.ceil(((ROUNDS + 1) * REQUESTS) / 30));
  const tokens: string[] = [];
  for (let m = 0; m < MEMBERS; m++) {
    const tokenRes = await fetch(`${stack.worker.url}/v1/dev/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ memberId: `bench-${m}`, plan: "premium" }),
    });
    tokens.push(((await tokenRes.json()) as { token: string }).token);
  }
  let k = 0;
  const play = () =>
    fetch(`${stack.worker.url}/v1/play`, {
      method: "POST",
      headers: { Authorization: `Bearer ${tokens[k++ % tokens.length]}`, "Content-Type": "application/json", "X-Client-Geo": geo },
      body: JSON.stringify({ titleId: title.id }),
    }).then(drain);
  const trivial = () => fetch(`${stack.worker.url}/v1`).then(drain);
  const first = (await (await pressPlay(stack, title.id, geo)).json()) as { ocas: Array<{ url: string }> };
  const segPaths = title.files.filter((f) => f.path.startsWith("video/avc-720p/seg-")).map((f) => f.path);
  let i = 0;
  const viaOca = () => fetch(`${first.ocas[0].url}${segPaths[i++ % segPaths.length]}`).then(drain);
  const base = await staticServer(catalogueDir());
  process.on("exit", () => base.stop());
  let j = 0;
  const viaStatic = () => fetch(`${base.url}/${title.id}/${segPaths[j++ % segPaths.length]}`).then(drain);

  await load(50, CONCURRENCY, play); // warm-up
  await load(50, CONCURRENCY, viaOca);
  await load(50, CONCURRENCY, viaStatic);
  const rounds: Array<Record<string, number>> = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const p = await load(REQUESTS, CONCURRENCY, play);
    const t = await load(REQUESTS, CONCURRENCY, trivial);
    const o = await load(REQUESTS, CONCURRENCY, viaOca);
    const s = await load(REQUESTS, CONCURRENCY, viaStatic);
    const row = {
      playMedianMs: median(p.latencies),
      trivialMedianMs: median(t.latencies),
      playRps: (REQUESTS / p.wallMs) * 1000,
      trivialRps: (REQUESTS / t.wallMs) * 1000,
      ocaMBps: o.bytes / 1e6 / (o.wallMs / 1000),
      staticMBps: s.bytes / 1e6 / (s.wallMs / 1000),
    };
    rounds.push(row);
    console.log(
      `round ${r}/${ROUNDS}: play ${row.playMedianMs.toFixed(1)} ms (${row.playRps.toFixed(0)}/s), trivial ${row.trivialMedianMs.toFixed(1)} ms (${row.trivialRps.toFixed(0)}/s), OCA ${row.ocaMBps.toFixed(0)} MB/s, ${base.name} ${row.staticMBps.toFixed(0)} MB/s`,
    );
  }
  base.stop();
  const m = (k: string) => median(rounds.map((r) => r[k]));
  const summary = {
    rounds: ROUNDS,
    requestsPerRound: REQUESTS,
    concurrency: CONCURRENCY,
    baselineServer: base.name,
    playMedianMs: m("playMedianMs"),
    trivialMedianMs: m("trivialMedianMs"),
    playLatencyRatio: m("playMedianMs") / m("trivialMedianMs"),
    playRps: m("playRps"),
    trivialRps: m("trivialRps"),
    playThroughputRatio: m("playRps") / m("trivialRps"),
    ocaMBps: m("ocaMBps"),
    staticMBps: m("staticMBps"),
    segmentThroughputRatio: m("ocaMBps") / m("staticMBps"),
  };
  console.table(summary);
  await mkdir(path.join(import.meta.dirname, "out"), { recursive: true });
  await writeFile(path.join(import.meta.dirname, "out", "play.json"), JSON.stringify({ summary, rounds }, null, 2));
  console.log("wrote bench/out/play.json");
} finally {
  await stack.stop();
}
