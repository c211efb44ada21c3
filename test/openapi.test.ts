import { describe, expect, it } from "vitest";
import type { FillResult } from "../durable-objects/site/rpc-types";
import { app } from "../workers/app";
import { call } from "./fixtures";

/**
 * The API reference is built from the schemas the routes validate with; this keeps it whole: every
 * route the app answers must be in /v1/openapi.json, and every documented route must exist.
 */

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        "x-hono-path": string;
        requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
        responses: Record<string, { description: string; "x-error-codes"?: string[] }>;
      }
    >
  >;
};

/**
 * Every code a manual fill's failed result can carry: the site object's (the compiler holds this list to
 * `FillResult`) and fillPlacements' own.
 */
const FILL_FAILURES: Record<Extract<FillResult, { ok: false }>["code"] | "site_error" | "no_progress", true> = {
  unknown_oca: true,
  unknown_title: true,
  insufficient_capacity: true,
  copy_failed: true,
  not_complete: true,
  site_error: true,
  no_progress: true,
};

const doc = async () => (await (await call("/v1/openapi.json")).json()) as Doc;

/** The app's handlers (middleware is registered as ALL and is not a route). */
const appRoutes = () => [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/\/$/, "") || "/"}`))];

describe("the API reference", () => {
  it("is an OpenAPI 3.1 document listing every route the app answers", async () => {
    const d = await doc();
    expect(d.openapi).toBe("3.1.0");
    const documented = new Set(Object.values(d.paths).flatMap((ops) => Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${op["x-hono-path"]}`)));
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThan(25);
    expect(routes.filter((r) => !documented.has(r))).toEqual([]);
    // …and documents nothing the app does not answer.
    expect([...documented].filter((r) => !routes.includes(r))).toEqual([]);
  });

  it("takes request bodies from the validating zod schemas, and lists error codes per status", async () => {
    const d = await doc();
    const play = d.paths["/v1/play"].post;
    expect(Object.keys(play.requestBody!.content["application/json"].schema.properties!)).toEqual(["titleId", "device"]);
    expect(play.responses["409"]["x-error-codes"]).toContain("too_many_streams");
    expect(play.responses["451"]["x-error-codes"]).toContain("not_licensed");
    // A fill answers a partial result, in its own body shape, when its budget runs out or a copy fails.
    const fill = d.paths["/admin/fill"].post.responses;
    expect(Object.keys(fill)).toEqual(expect.arrayContaining(["200", "202", "409", "404"]));
    expect(fill["202"].description).toContain("incomplete");
    // A 202 carries ok: false (the placements not reached are not done), as fillPlacements answers.
    expect(fill["202"].description).toMatch(/^\{ ok: false, results \}/);
    expect(fill["409"].description).toMatch(/^\{ ok: false, results \}/);
    for (const code of Object.keys(FILL_FAILURES)) expect(fill["409"].description).toContain(`\`${code}\``);
    // PUT /admin/titles answers what the handler returns.
    const put = d.paths["/admin/titles/{titleId}"].put.responses["200"].description;
    expect(put).not.toContain("newVersion");
    for (const field of ["titleId", "version", "previousVersion", "renditions", "files", "licences"]) expect(put).toContain(field);
    const events = d.paths["/v1/events"].post;
    expect(Object.keys(events.requestBody!.content["application/json"].schema.properties!).sort()).toEqual(["batchId", "events", "sessionId", "sessionToken"]);
    expect(d.paths["/admin/sites/{siteId}/ocas/{ocaId}/health"].post.requestBody!.content["application/json"].schema).toMatchObject({
      properties: { health: { enum: ["healthy", "drained", "failed"] } },
    });
  });

  it("is rendered as a reference page with every route on it", async () => {
    const res = await call("/v1/docs");
    expect(res.headers.get("Content-Type")).toMatch(/text\/html/);
    const html = await res.text();
    const d = await doc();
    for (const path of Object.keys(d.paths)) expect(html).toContain(`<code>${path.replace(/&/g, "&amp;")}</code>`);
    expect(html).toContain("too_many_streams");
  });
});
