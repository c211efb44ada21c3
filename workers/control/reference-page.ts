/**
 * The API reference as one HTML page, rendered from the OpenAPI document itself (no script, no
 * external assets: it works offline and under a strict CSP): routes grouped by tag, each with its
 * parameters, request body schema, responses and error codes.
 */

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string);

interface Operation {
  summary: string;
  tags: string[];
  operationId: string;
  security: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; description?: string; schema: unknown }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; "x-error-codes"?: string[] }>;
}

/** Renders the reference page of an OpenAPI document built by openApiDocument(). */
export function referencePage(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, Operation>>;
  const tags = (doc.tags as Array<{ name: string; description?: string }>).map((t) => t.name);
  const ops = Object.entries(paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ path, method, op })));
  const section = (tag: string) => {
    const mine = ops.filter((o) => o.op.tags.includes(tag));
    if (mine.length === 0) return "";
    return `<h2 id="${esc(tag)}">${esc(tag)}</h2>${mine
      .map(({ path, method, op }) => {
        const auth = op.security.map((s) => Object.keys(s).join(" + ")).join(" or ") || "none";
        const params = (op.parameters ?? [])
          .map(
            (p) =>
              `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${esc(p.description ?? "")}</td><td><code>${esc(JSON.stringify(p.schema))}</code></td></tr>`,
          )
          .join("");
        const body = op.requestBody
          ? Object.entries(op.requestBody.content)
              .map(([type, c]) => `<p>Request body (<code>${esc(type)}</code>):</p><pre>${esc(JSON.stringify(c.schema, null, 2))}</pre>`)
              .join("")
          : "";
        const responses = Object.entries(op.responses)
          .map(
            ([status, r]) =>
              `<tr><td>${esc(status)}</td><td>${esc(r.description)}</td><td>${(r["x-error-codes"] ?? []).map((c) => `<code>${esc(c)}</code>`).join(" ")}</td></tr>`,
          )
          .join("");
        return `<section id="${esc(op.operationId)}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p><p>Authorization: <b>${esc(auth)}</b></p>
${params ? `<table><tr><th>parameter</th><th>in</th><th>description</th><th>schema</th></tr>${params}</table>` : ""}
${body}<table><tr><th>status</th><th>response</th><th>error codes</th></tr>${responses}</table></section>`;
      })
      .join("")}`;
  };
  const info = doc.info as { title: string; description: string };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
pre{background:#f5f5f5;padding:.5rem;overflow:auto;max-height:24rem}section{border-top:1px solid #eee;padding-top:.5rem}
.m{display:inline-block;min-width:4rem;font-size:.8rem;color:#fff;border-radius:3px;padding:0 .3rem;text-align:center}
.get{background:#2f6fb0}.post{background:#2e8b57}.put{background:#b8860b}.delete{background:#b03a2e}.head{background:#666}</style></head>
<body><h1>${esc(info.title)} API reference</h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI ${esc(doc.openapi)}). ${tags
    .map((t) => `<a href="#${esc(t)}">${esc(t)}</a>`)
    .join(" · ")}</p>
${tags.map(section).join("\n")}
</body></html>`;
}
