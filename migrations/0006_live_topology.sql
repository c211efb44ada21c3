-- The live topology (sites, OCAs, ISPs, regions) as one versioned document written by the admin API.
-- No row: the topology bundled with the Worker (config/topology.json) stands. Every isolate and site
-- object checks the version once per CATALOGUE_TTL_S and reloads the document when it moved.
CREATE TABLE topology_doc (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
