import { MAX_REPORT_ITEMS } from "../../workers/shared/site-view";

/**
 * How much of a site object's time event shards' catch-up forwards may take. After a site outage each
 * of its 64 shards holds a backlog, and a shard with a backlog forwards full calls back to back: a full
 * forward costs the site some 30 ms (1,000 reports, measured locally), so 64 of them queued ahead of an
 * isolate's sync (which gives up after 500 ms) would fail every sync until the backlogs drained, and
 * steering would see the site as stale. A catch-up forward (a full call of a shard more than 10 s
 * behind: CATCH_UP_BEHIND_MS) is therefore rationed; forwards of live traffic never are, however
 * many fill a call.
 */

/** Reports a second the site takes from catch-up forwards: five full calls, about 15 % of its time. */
export const CATCH_UP_REPORTS_PER_S = 5_000;
/** The most it takes at once: one full call, so catch-up forwards never queue two deep before a sync. */
export const CATCH_UP_BURST = MAX_REPORT_ITEMS;

/**
 * A token bucket of reports, in the site object's memory (a restarted object starts full: one call).
 * `take` spends `n` reports and answers 0, or answers how many ms until it could, spending nothing.
 */
export class CatchUpBudget {
  private tokens = CATCH_UP_BURST;
  private at = 0;

  constructor(
    private readonly perSecond = CATCH_UP_REPORTS_PER_S,
    private readonly burst = CATCH_UP_BURST,
  ) {
    this.tokens = burst;
  }

  take(n: number, now: number): number {
    const need = Math.min(Math.max(0, n), this.burst);
    if (now > this.at) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = Math.max(this.at, now);
    if (this.tokens >= need) {
      this.tokens -= need;
      return 0;
    }
    return Math.ceil(((need - this.tokens) * 1000) / this.perSecond);
  }
}
