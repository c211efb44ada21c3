-- A site's reconcile reads its listings a slice of titles at a time (by site, then title id).
CREATE INDEX IF NOT EXISTS oca_titles_by_site_title ON oca_titles (site_id, title_id);
