/**
 * `npm start`: build the demo catalogue (cached), start the Worker locally with wrangler dev,
 * seed local R2 / D1 / site Durable Objects through the admin API, and print a curl that presses play.
 */
import { killActiveChildren } from "../ingest/exec";
import { buildCatalogue, catalogueDir } from "./build-catalogue";
import { demoPlacement } from "./demo-placement";
import { ensureDevVars } from "./dev-vars";
import { type LocalWorker, startLocalWorker, stopLocalWorkers } from "./local-worker";
import { fillPlacement, seedCatalogue } from "./seed";

const port = Number(process.env.PORT ?? 8787);
const log = (msg: string) => console.log(`[start] ${msg}`);

// From the first moment, not only once the Worker answers: a SIGTERM (a process manager, an IDE's stop
// button, `kill`) reaches this process alone, and the ffmpeg or wrangler dev (and its workerd) it started
// would otherwise run on, holding the port the next `npm start` wants.
let stopping = false;
for (const [sig, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    killActiveChildren();
    await stopLocalWorkers();
    process.exit(code);
  });
}

async function fail(worker: LocalWorker | null, err: unknown): Promise<never> {
  if (worker) {
    console.error(worker.log());
    await worker.stop();
  }
  console.error(`[start] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

const vars = ensureDevVars({ onChange: log });
log("building the demo catalogue (cached after the first run)...");
const catalogue = await buildCatalogue({ onProgress: (m) => log(m) }).catch((err) => fail(null, err));
log(`catalogue: ${catalogue.titles.map((t) => t.id).join(", ")}`);

log(`starting wrangler dev on port ${port}...`);
const worker = await startLocalWorker({ port }).catch((err) => fail(null, err));

const opts = { baseUrl: worker.url, adminToken: vars.ADMIN_TOKEN, catalogue, cacheDir: catalogueDir(), onProgress: log };
let token = "";
try {
  await seedCatalogue(opts);
  await fillPlacement(opts, demoPlacement(catalogue.titles.map((t) => t.id)));
  const tokenRes = await fetch(`${worker.url}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ memberId: "demo-member", plan: "premium" }),
  });
  const body = await tokenRes.text();
  if (!tokenRes.ok) {
    throw new Error(
      `POST /v1/dev/token answered ${tokenRes.status} ${body.slice(0, 300)}` +
        (tokenRes.status === 404 ? ` (DEV_MODE is "${vars.DEV_MODE}" in .dev.vars; npm start needs DEV_MODE='true')` : ""),
    );
  }
  token = (JSON.parse(body) as { token: string }).token;
} catch (err) {
  await fail(worker, err);
}
const title = catalogue.titles[0].id;

console.log(`
Ready: the Worker runs at ${worker.url} with the demo catalogue in local R2 / D1 and every OCA site filled.

Press play as a Lumen Fiber subscriber in New York (the X-Client-Geo header is honoured because DEV_MODE=true in .dev.vars):

curl -s -X POST ${worker.url}/v1/play \\
  -H 'Authorization: Bearer ${token}' \\
  -H 'Content-Type: application/json' \\
  -H 'X-Client-Geo: asn=64500;country=US;lat=40.71;lon=-74.0' \\
  -d '{"titleId":"${title}","device":{"codecs":["avc1","mp4a"],"maxHeight":1080}}'

Then play the "hls" URL it returns, e.g.  ffplay "<hls url>"  or  ffmpeg -i "<hls url>" -map 0 -f null -
Web player: ${worker.url}/      Operator dashboard: ${worker.url}/ops/ (admin token: ${vars.ADMIN_TOKEN})
API reference: ${worker.url}/v1/docs (OpenAPI: ${worker.url}/v1/openapi.json)
Admin API: curl -s ${worker.url}/admin/topology -H 'Authorization: Bearer ${vars.ADMIN_TOKEN}'
Ctrl-C stops the Worker; local state stays in .wrangler/state.
`);

worker.child.stdout!.pipe(process.stdout);
worker.child.stderr!.pipe(process.stderr);
// wrangler dev that dies on its own leaves nothing to serve: say so, rather than end as if all were well.
worker.child.once("exit", (code, signal) => {
  if (stopping) return;
  console.error(`[start] wrangler dev exited (${signal ?? `code ${code}`}); the Worker is no longer running`);
  process.exit(1);
});
