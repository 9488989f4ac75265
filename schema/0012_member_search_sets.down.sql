-- Back to schema 11: one row per fragment and event, for every event that points at a set.
CREATE TABLE member_search (
  token    BLOB    NOT NULL,
  event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  PRIMARY KEY (token, event_id)
) WITHOUT ROWID;
CREATE INDEX member_search_event ON member_search (event_id);
INSERT OR IGNORE INTO member_search (token, event_id)
  SELECT t.token, e.id FROM events e JOIN member_search_tokens t ON t.set_id = e.search_set;
ALTER TABLE events DROP COLUMN search_set;
DROP INDEX member_search_tokens_set;
DROP TABLE member_search_tokens;
DROP TABLE member_search_sets;
