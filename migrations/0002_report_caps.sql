-- What a session may count in viewing history: its top allowed bitrate (video + audio, bits/s) and
-- the bytes of a full watch at that rate. Both are fixed at play time.
ALTER TABLE sessions ADD COLUMN top_bps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN est_bytes INTEGER NOT NULL DEFAULT 0;

-- Idempotency of POST /v1/events: a batch retried after a lost response is recognised by its id
-- and neither stored nor counted twice.
CREATE TABLE event_batches (
  session_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  events INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, batch_id)
);
