import { eventShard } from "../../shared/event-shards";

/** The QoE event shard of a session at its home site (`shared/event-shards.ts` says how shards are chosen). */
export function sessionLog(env: Pick<Env, "SESSION_LOG">, homeSiteId: string, sessionId: string) {
  return env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${homeSiteId}:${eventShard(sessionId)}`));
}
