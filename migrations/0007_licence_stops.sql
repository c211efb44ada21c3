-- Origin's withdrawn list names each licence that stops within the last session lifetime or within
-- two hours, so the running sessions it had granted in that country stop then: its own end (read
-- through licences_by_end rather than a scan of every licence), and what a registration stopped
-- (kept here, since the licence row that replaces it no longer says so): from `at`, the sessions
-- granted before `granted_before` stop. Rows older than a session lifetime are purged. (IF NOT
-- EXISTS: an earlier 0007 of this round created the same index.)
CREATE INDEX IF NOT EXISTS licences_by_end ON licences (available_until) WHERE available_until IS NOT NULL;

CREATE TABLE licence_stops (
  title_id TEXT NOT NULL,
  country TEXT NOT NULL,
  at INTEGER NOT NULL,
  granted_before INTEGER NOT NULL,
  PRIMARY KEY (title_id, country, at, granted_before)
) WITHOUT ROWID;
CREATE INDEX licence_stops_by_at ON licence_stops (at);
