/** Admin: the topology with each OCA's health and what it is listed for. */
import { Hono } from "hono";
import { topology } from "../../shared/topology";
import { steeringTable } from "../../shared/steering-table";

import type { AdminEnv } from "./params";

export const topologyRoutes = new Hono<AdminEnv>();

topologyRoutes.get("/topology", async (c) => {
  const { health, holding } = await steeringTable.summary(c.env.DB);
  return c.json({
    origin: topology.origin,
    regions: topology.regions,
    isps: topology.isps,
    sites: topology.sites.map((s) => ({
      ...s,
      ocas: s.ocas.map((o) => ({
        ...o,
        health: health.get(o.id) ?? "healthy",
        titles: holding.get(o.id)?.titles ?? 0,
        bytes: holding.get(o.id)?.bytes ?? 0,
      })),
    })),
  });
});
