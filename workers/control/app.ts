import { Hono } from "hono";
import { admin } from "./admin/index";
import { dev } from "./dev";
import { events } from "./events";
import { contentSteering } from "./content-steering";
import { play } from "./play";
import { titles } from "./titles";
import { openApiDocument } from "./openapi";
import { referencePage } from "./reference-page";

/** The control plane: play, catalogue browse, admin and dev-only routes. */
export const control = new Hono<{ Bindings: Env }>();

control.get("/v1", (c) =>
  c.json({
    name: "edge-video-cdn",
    endpoints: [
      "GET /v1/titles",
      "GET /v1/titles/{title}/poster/{version}",
      "POST /v1/play",
      "POST /v1/events",
      "GET /v1/steering/{session token}/…",
      "GET|HEAD /oca/{site}/{oca}/{token}/{title}/{file}",
      "/admin/* (bearer ADMIN_TOKEN)",
    ],
    reference: { openapi: "/v1/openapi.json", docs: "/v1/docs" },
  }),
);
control.get("/v1/openapi.json", (c) => c.json(openApiDocument(), 200, { "Access-Control-Allow-Origin": "*" }));
control.get("/v1/docs", (c) => c.html(referencePage(openApiDocument())));
control.route("/v1/titles", titles);
control.route("/v1/play", play);
control.route("/v1/events", events);
control.route("/v1/steering", contentSteering);
control.route("/v1/dev", dev);
control.route("/admin", admin);
