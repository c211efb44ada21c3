-- Origin's withdrawn list names each licence that ended within the last session lifetime or ends
-- within two hours (running sessions in that country stop then): a range over licence ends, asked at
-- every registration and takedown and hourly, read through this index rather than a scan of every
-- licence of the catalogue.
CREATE INDEX licences_by_end ON licences (available_until) WHERE available_until IS NOT NULL;
