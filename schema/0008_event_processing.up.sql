-- Events are processed from the events table: the event processor takes the pending rows,
-- oldest first, through this partial index (it holds only the events not processed yet), and
-- marks each one in the same transaction as its effects. A webhook writes one row, not an event
-- row and a process_event job.
CREATE INDEX events_pending ON events (id) WHERE process_state = 'pending';
-- process_event jobs queued by an earlier version for events still pending: the processor takes
-- those events now, so the jobs would only fold them a second time. Replays (unique_key set) and
-- jobs of events already processed stay and run as before.
DELETE FROM jobs WHERE kind = 'process_event' AND unique_key IS NULL
  AND state IN ('queued', 'running', 'failed')
  AND json_extract(payload, '$.event_id') IN (SELECT id FROM events WHERE process_state = 'pending');
