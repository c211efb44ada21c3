/**
 * The .dev.vars format `wrangler dev` reads (dotenv): `KEY=value`, the value optionally in single or
 * double quotes. `npm start` writes single-quoted values; every reader goes through this one parser.
 */
export function parseDevVars(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const v = m[2];
    const quoted = /^'(.*)'$/.exec(v) ?? /^"(.*)"$/.exec(v);
    out.set(m[1], quoted ? quoted[1] : v);
  }
  return out;
}
