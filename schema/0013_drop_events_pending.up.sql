-- events_state (process_state, id) already finds the pending events oldest first, covering the
-- processor's query; the partial index events_pending (0008) only cost every stored event one
-- more index entry to write and every processed one one more to delete.
DROP INDEX events_pending;
