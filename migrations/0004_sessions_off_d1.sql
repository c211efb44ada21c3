-- Sessions travel signed (the play response's session token) and their events are stored at their
-- home site's Durable Object: play, steering and QoE batches no longer touch these tables.
DROP TABLE IF EXISTS play_events;
DROP TABLE IF EXISTS event_batches;
DROP TABLE IF EXISTS sessions;
