-- Back to a process_event job per pending event (an earlier version only processes through jobs).
INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
  SELECT 'process_event', json_object('event_id', id), 'queued', 0, 10, received_at, received_at,
         received_at
  FROM events WHERE process_state = 'pending';
DROP INDEX events_pending;
