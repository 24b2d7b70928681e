-- Who made a change, when it was a person signed in to the web console (their oid): an event's subject
-- is whom it is about, its actor who did it. Events from the CLI, APIs and journeys have none.
ALTER TABLE audit_events ADD COLUMN actor TEXT;
CREATE INDEX audit_events_actor ON audit_events(actor) WHERE actor IS NOT NULL;
