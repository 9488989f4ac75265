CREATE INDEX events_pending ON events (id) WHERE process_state = 'pending';
