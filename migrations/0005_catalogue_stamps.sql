-- What the control plane's per-isolate catalogue view caches (a title's metadata, renditions, licences
-- and steering copies) carries a stamp per title, bumped by triggers on every write that changes it, with
-- the time of the change. An isolate then asks D1 one question per CATALOGUE_TTL_S ("which titles changed
-- since my last look?", an index range) instead of reloading each title it caches; it reloads only those.
-- Writers need not know: the triggers keep the stamps.
ALTER TABLE titles ADD COLUMN view_stamp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE titles ADD COLUMN view_changed_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX titles_view_changed ON titles (view_changed_at);

CREATE TRIGGER titles_view_insert AFTER INSERT ON titles BEGIN
  UPDATE titles SET view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.id;
END;
CREATE TRIGGER titles_view_update AFTER UPDATE OF name, description, release_year, duration_s, available_from, live_min_copies, version, taken_down_at ON titles BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.id;
END;

CREATE TRIGGER renditions_view_insert AFTER INSERT ON renditions BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.title_id;
END;
CREATE TRIGGER renditions_view_update AFTER UPDATE ON renditions BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.title_id;
END;
CREATE TRIGGER renditions_view_delete AFTER DELETE ON renditions BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = OLD.title_id;
END;

CREATE TRIGGER licences_view_insert AFTER INSERT ON licences BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.title_id;
END;
CREATE TRIGGER licences_view_update AFTER UPDATE ON licences BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.title_id;
END;
CREATE TRIGGER licences_view_delete AFTER DELETE ON licences BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = OLD.title_id;
END;

CREATE TRIGGER oca_titles_view_insert AFTER INSERT ON oca_titles BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.title_id;
END;
CREATE TRIGGER oca_titles_view_update AFTER UPDATE ON oca_titles BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.title_id;
END;
CREATE TRIGGER oca_titles_view_delete AFTER DELETE ON oca_titles BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = OLD.title_id;
END;

-- An OCA's health as the site (or an operator) last wrote it is part of every candidate list it is on:
-- a change of health stamps the titles it holds. Its load, written every few seconds, does not: the
-- live site view carries load to every request.
CREATE TRIGGER oca_status_view_insert AFTER INSERT ON oca_status BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
  WHERE id IN (SELECT title_id FROM oca_titles WHERE oca_id = NEW.oca_id);
END;
CREATE TRIGGER oca_status_view_health AFTER UPDATE OF health ON oca_status WHEN OLD.health IS NOT NEW.health BEGIN
  UPDATE titles SET view_stamp = view_stamp + 1, view_changed_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
  WHERE id IN (SELECT title_id FROM oca_titles WHERE oca_id = NEW.oca_id);
END;
