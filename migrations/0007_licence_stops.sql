-- Origin's withdrawn list names each licence that stops within the last session lifetime or within
-- two hours, so running sessions it had granted in that country stop then: its own end (read through
-- licences_by_end rather than a scan of every licence), and the moments a registration stopped a
-- licence in effect (dropped its country, ended it early, moved its start later), kept here because
-- the licence row then no longer says so. Rows older than a session lifetime are purged. (IF NOT EXISTS:
-- an earlier 0007 of this round created the same index.)
CREATE INDEX IF NOT EXISTS licences_by_end ON licences (available_until) WHERE available_until IS NOT NULL;

CREATE TABLE licence_stops (
  title_id TEXT NOT NULL,
  country TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (title_id, country, at)
) WITHOUT ROWID;
CREATE INDEX licence_stops_by_at ON licence_stops (at);
