/**
 * `npm start`: build the demo catalogue (cached), start the Worker locally with wrangler dev,
 * seed local R2 / D1 / site Durable Objects through the admin API, and print a curl that presses play.
 */
import { killActiveChildren } from "../ingest/exec";
import { buildCatalogue, catalogueDir, removeActiveBuilds } from "./build-catalogue";
import { demoPlacement } from "./demo-placement";
import { ensureDevVars } from "./dev-vars";
import { DEFAULT_PORT, type LocalWorker, portFromEnv, portInUse, portTaken, startLocalWorker, stopLocalWorkers } from "./local-worker";
import { readyMessage } from "./ready-message";
import { takeStartLock } from "./start-lock";
import { fillPlacement, seedCatalogue } from "./seed";

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
    removeActiveBuilds();
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

let port = DEFAULT_PORT;
try {
  port = portFromEnv(process.env.PORT);
} catch (err) {
  await fail(null, err);
}
try {
  const lock = takeStartLock(port);
  process.on("exit", () => lock.release());
} catch (err) {
  await fail(null, err);
}
// Before the catalogue build, minutes long on a first run: a second `npm start`, or another project's
// wrangler dev on the port, is said at once (startLocalWorker checks again: the port may be taken meanwhile).
if (await portInUse(port).catch((err) => fail(null, err))) await fail(null, portTaken(port));
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

console.log(readyMessage({ url: worker.url, port, memberToken: token, titleId: title, adminToken: vars.ADMIN_TOKEN }));

worker.child.stdout!.pipe(process.stdout);
worker.child.stderr!.pipe(process.stderr);
// wrangler dev that dies on its own leaves nothing to serve: say so, rather than end as if all were well.
worker.child.once("exit", (code, signal) => {
  if (stopping) return;
  console.error(`[start] wrangler dev exited (${signal ?? `code ${code}`}); the Worker is no longer running`);
  process.exit(1);
});
