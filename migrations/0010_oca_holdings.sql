-- Per OCA, what the steering view lists it for: distinct titles (any version) and the sum of its rows'
-- bytes, as `GROUP BY oca_id` over oca_titles gives them. Kept by triggers so the operators' topology reads
-- a row per OCA instead of every listing (tens of millions at scale, on the database the steering and
-- load publications write to). A row exists only while its OCA has a listing, as the scan's groups do.
--
-- The triggers see inserts, updates and deletes. An `INSERT OR REPLACE` that replaces a row fires no
-- delete trigger (unless PRAGMA recursive_triggers is on), so its old row's bytes would stay counted:
-- writers list a copy with `INSERT ... ON CONFLICT DO UPDATE` (see workers/shared/steering-table.ts).
CREATE TABLE oca_holdings (
  oca_id TEXT PRIMARY KEY,
  titles INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO oca_holdings (oca_id, titles, bytes)
  SELECT oca_id, COUNT(DISTINCT title_id), SUM(bytes) FROM oca_titles GROUP BY oca_id;

-- A title counts once per OCA whatever its versions listed: a new row adds it only when no other
-- version of it is listed there (a prefix of oca_titles' primary key: a row or two read).
CREATE TRIGGER oca_holdings_insert AFTER INSERT ON oca_titles BEGIN
  INSERT INTO oca_holdings (oca_id, titles, bytes)
  VALUES (
    NEW.oca_id,
    (NOT EXISTS (SELECT 1 FROM oca_titles WHERE oca_id = NEW.oca_id AND title_id = NEW.title_id AND version <> NEW.version)),
    NEW.bytes
  )
  ON CONFLICT (oca_id) DO UPDATE SET titles = titles + excluded.titles, bytes = bytes + excluded.bytes;
END;

-- The title leaves the OCA's count with its last version; an OCA left with no listing loses its row.
CREATE TRIGGER oca_holdings_delete AFTER DELETE ON oca_titles BEGIN
  UPDATE oca_holdings
  SET bytes = bytes - OLD.bytes,
      titles = titles - (NOT EXISTS (SELECT 1 FROM oca_titles WHERE oca_id = OLD.oca_id AND title_id = OLD.title_id))
  WHERE oca_id = OLD.oca_id;
  DELETE FROM oca_holdings WHERE oca_id = OLD.oca_id AND titles <= 0;
END;

-- A copy listed again (the same OCA, title and version) with other bytes: only its bytes move. Listed
-- again unchanged, which every fill and reconcile does, nothing is written here.
CREATE TRIGGER oca_holdings_update_bytes AFTER UPDATE OF bytes ON oca_titles
WHEN OLD.oca_id IS NEW.oca_id AND OLD.title_id IS NEW.title_id AND OLD.version IS NEW.version AND OLD.bytes IS NOT NEW.bytes BEGIN
  UPDATE oca_holdings SET bytes = bytes + NEW.bytes - OLD.bytes WHERE oca_id = NEW.oca_id;
END;

-- A row moved to another OCA, title or version (no writer does this today): its old place loses it as a
-- delete would, its new place gains it as an insert would; a version change of one title counts no title.
CREATE TRIGGER oca_holdings_update_key AFTER UPDATE OF oca_id, title_id, version ON oca_titles
WHEN OLD.oca_id IS NOT NEW.oca_id OR OLD.title_id IS NOT NEW.title_id OR OLD.version IS NOT NEW.version BEGIN
  UPDATE oca_holdings
  SET bytes = bytes - OLD.bytes,
      titles = titles - (NOT EXISTS (SELECT 1 FROM oca_titles WHERE oca_id = OLD.oca_id AND title_id = OLD.title_id))
  WHERE oca_id = OLD.oca_id;
  INSERT INTO oca_holdings (oca_id, titles, bytes)
  VALUES (
    NEW.oca_id,
    (OLD.oca_id IS NOT NEW.oca_id OR OLD.title_id IS NOT NEW.title_id)
      AND (NOT EXISTS (SELECT 1 FROM oca_titles WHERE oca_id = NEW.oca_id AND title_id = NEW.title_id AND version <> NEW.version)),
    NEW.bytes
  )
  ON CONFLICT (oca_id) DO UPDATE SET titles = titles + excluded.titles, bytes = bytes + excluded.bytes;
  DELETE FROM oca_holdings WHERE oca_id = OLD.oca_id AND titles <= 0;
END;
