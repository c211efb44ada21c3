import { DEFAULT_PORT } from "./local-worker";

/** What `npm start` prints once the Worker is seeded. */
export interface ReadyInfo {
  /** the Worker's base URL, e.g. http://127.0.0.1:8787 */
  url: string;
  /** the port it listens on */
  port: number;
  /** a dev member token of the premium demo member */
  memberToken: string;
  /** the title the printed play request asks for */
  titleId: string;
  adminToken: string;
}

/**
 * `npm start`'s closing message: a play request to paste as it is, the player, dashboard and API
 * addresses, and how to publish one's own video: on a port other than the default, ingest is told
 * where the Worker is (its default is 8787, which may be another project's `wrangler dev`).
 */
export function readyMessage(r: ReadyInfo): string {
  const baseUrlOpt = r.port === DEFAULT_PORT ? "" : ` --base-url ${r.url}`;
  return `
Ready: the Worker runs at ${r.url} with the demo catalogue in local R2 / D1 and every OCA site filled.

Press play as a Lumen Fiber subscriber in New York (the X-Client-Geo header is honoured because DEV_MODE=true in .dev.vars):

curl -s -X POST ${r.url}/v1/play \\
  -H 'Authorization: Bearer ${r.memberToken}' \\
  -H 'Content-Type: application/json' \\
  -H 'X-Client-Geo: asn=64500;country=US;lat=40.71;lon=-74.0' \\
  -d '{"titleId":"${r.titleId}","device":{"codecs":["avc1","mp4a"],"maxHeight":1080}}'

Then play the "hls" URL it returns, e.g.  ffplay "<hls url>"  or  ffmpeg -i "<hls url>" -map 0 -f null -
Web player: ${r.url}/      Operator dashboard: ${r.url}/ops/ (admin token: ${r.adminToken})
API reference: ${r.url}/v1/docs (OpenAPI: ${r.url}/v1/openapi.json)
Admin API: curl -s ${r.url}/admin/topology -H 'Authorization: Bearer ${r.adminToken}'
Publish a video of your own (in another terminal): npm run ingest -- movie.mp4 --title-id my-movie --title 'My Movie'${baseUrlOpt}
Ctrl-C stops the Worker; local state stays in .wrangler/state.
`;
}
