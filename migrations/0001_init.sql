-- Relational metadata: plans, titles, renditions, files, licences; plus the steering view that
-- site Durable Objects keep fresh (which OCA holds which title, and each OCA's health).

CREATE TABLE plans (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  max_height INTEGER NOT NULL,
  max_streams INTEGER NOT NULL
);
INSERT INTO plans (id, name, max_height, max_streams) VALUES
  ('basic', 'Basic', 480, 1),
  ('standard', 'Standard', 720, 2),
  ('premium', 'Premium', 2160, 4);

CREATE TABLE titles (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  release_year INTEGER,
  duration_s REAL NOT NULL,
  -- Launch time (ms since epoch): before it the title is not playable anywhere.
  available_from INTEGER NOT NULL DEFAULT 0,
  -- Complete copies needed in a region before the title is steered to there (NULL: the topology default).
  live_min_copies INTEGER,
  -- How ingest chose the bitrate ladder (JSON: rungs, complexity, reason).
  encoding_json TEXT,
  updated_at INTEGER NOT NULL
);

CREATE TABLE renditions (
  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('video', 'audio', 'subtitle')),
  codec TEXT NOT NULL,
  width INTEGER,
  height INTEGER,
  bandwidth INTEGER NOT NULL,
  language TEXT,
  label TEXT,
  PRIMARY KEY (title_id, id)
);

CREATE TABLE files (
  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (title_id, path)
);

CREATE TABLE licences (
  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
  country TEXT NOT NULL,
  available_from INTEGER NOT NULL,
  available_until INTEGER,
  PRIMARY KEY (title_id, country)
);
CREATE INDEX licences_by_country ON licences (country);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  member_id TEXT NOT NULL,
  title_id TEXT NOT NULL,
  country TEXT,
  asn INTEGER,
  lat REAL,
  lon REAL,
  max_height INTEGER,
  -- The site whose viewing history this session counts in (the client's nearest site of its ISP, else IXP).
  home_site_id TEXT,
  -- The ranked OCA ids the session was given: the pathways of its Content Steering playlists.
  pathways TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Steering view, written by each site's Durable Object (the truth), read by the play request.
CREATE TABLE oca_titles (
  site_id TEXT NOT NULL,
  oca_id TEXT NOT NULL,
  title_id TEXT NOT NULL,
  files INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (oca_id, title_id)
);
CREATE INDEX oca_titles_by_title ON oca_titles (title_id);

CREATE TABLE oca_status (
  oca_id TEXT PRIMARY KEY,
  site_id TEXT NOT NULL,
  health TEXT NOT NULL,
  -- Egress over the throughput limit (0..1+), active sessions: the last load the site published.
  load REAL NOT NULL DEFAULT 0,
  sessions INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);

-- QoE and play events reported by clients (POST /v1/events); bytes also feed the site's viewing history.
CREATE TABLE play_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL,
  title_id TEXT NOT NULL,
  home_site_id TEXT,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX play_events_by_session ON play_events (session_id);
