/**
 * `npm start`: build the demo catalogue (cached), start the Worker locally with wrangler dev,
 * seed local R2 / D1 / site Durable Objects through the admin API, and print a curl that presses play.
 */
import { buildCatalogue, catalogueDir } from "./build-catalogue";
import { demoPlacement } from "./demo-placement";
import { ensureDevVars } from "./dev-vars";
import { startLocalWorker } from "./local-worker";
import { fillPlacement, seedCatalogue } from "./seed";

const port = Number(process.env.PORT ?? 8787);
const log = (msg: string) => console.log(`[start] ${msg}`);

const vars = ensureDevVars();
log("building the demo catalogue (cached after the first run)...");
const catalogue = await buildCatalogue({ onProgress: (m) => log(m) });
log(`catalogue: ${catalogue.titles.map((t) => t.id).join(", ")}`);

log(`starting wrangler dev on port ${port}...`);
const worker = await startLocalWorker({ port });
const stop = async () => {
  await worker.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const opts = { baseUrl: worker.url, adminToken: vars.ADMIN_TOKEN, catalogue, cacheDir: catalogueDir(), onProgress: log };
try {
  await seedCatalogue(opts);
  await fillPlacement(opts, demoPlacement(catalogue.titles.map((t) => t.id)));
} catch (err) {
  console.error(worker.log());
  await worker.stop();
  throw err;
}

const tokenRes = await fetch(`${worker.url}/v1/dev/token`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ memberId: "demo-member", plan: "premium" }),
});
const { token } = (await tokenRes.json()) as { token: string };
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
