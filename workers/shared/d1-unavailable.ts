import { D1ReadTimeout } from "./replica-reads";

/**
 * D1's own words for a database it cannot serve now (Cloudflare's D1 error list marks them retryable:
 * a connection lost, the database overloaded or reset, a transient fault on its node). A query's own
 * fault (a syntax error, a constraint) is none of them and stays a 500: it is a bug, not an outage.
 */
const TRANSIENT =
  /Network connection lost|D1 DB is overloaded|storage operation exceeded timeout|storage caused object to be reset|reset because its code was updated|Cannot resolve D1 DB due to transient issue|D1 read: no answer within/;

/** Whether `err` says D1 could not be reached or could not answer in time (a 503, not a 500). */
export function isD1Unavailable(err: unknown): boolean {
  if (err instanceof D1ReadTimeout) return true;
  return err instanceof Error && TRANSIENT.test(err.message);
}
