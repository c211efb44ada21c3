-- Title versions. Publishing a title again with new bytes makes a new version; sessions keep the
-- version they started with (it is signed into their URL token) until their token expires, and an
-- OCA keeps an old version's files until then. Files are content-addressed in R2 (the key carries
-- a tag of the SHA-256), so two versions of one path live side by side.
ALTER TABLE titles ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
-- Set by a takedown (DELETE /admin/titles/{id}): no new plays, out of steering at once, off OCAs on their next cycle.
ALTER TABLE titles ADD COLUMN taken_down_at INTEGER;

-- Every version ever claimed. No foreign key: a version number is claimed before the title row
-- exists, so two concurrent publishes of one title cannot both write the same version's index.
CREATE TABLE title_versions (
  title_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  files INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  -- When a newer version became current, and until when sessions started before may still ask for this one.
  superseded_at INTEGER,
  retain_until INTEGER,
  PRIMARY KEY (title_id, version)
);
INSERT INTO title_versions (title_id, version, files, bytes, created_at)
  SELECT t.id, 1, COUNT(f.path), COALESCE(SUM(f.bytes), 0), t.updated_at FROM titles t LEFT JOIN files f ON f.title_id = t.id GROUP BY t.id;

CREATE TABLE files_v (
  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  path TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (title_id, version, path)
);
INSERT INTO files_v (title_id, version, path, bytes, sha256) SELECT title_id, 1, path, bytes, sha256 FROM files;
DROP TABLE files;
ALTER TABLE files_v RENAME TO files;

-- The steering view lists a copy per version: an OCA may hold the old and the new version at once.
CREATE TABLE oca_titles_v (
  site_id TEXT NOT NULL,
  oca_id TEXT NOT NULL,
  title_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  files INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (oca_id, title_id, version)
);
INSERT INTO oca_titles_v (site_id, oca_id, title_id, version, files, bytes, updated_at) SELECT site_id, oca_id, title_id, 1, files, bytes, updated_at FROM oca_titles;
DROP TABLE oca_titles;
ALTER TABLE oca_titles_v RENAME TO oca_titles;
CREATE INDEX oca_titles_by_title ON oca_titles (title_id, version);
