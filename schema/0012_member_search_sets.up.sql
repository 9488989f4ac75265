-- The keyed search index of members' details (0007) per membership and distinct details instead
-- of per event. A membership's webhooks mostly repeat the same name, email and username; each
-- event wrote its 20 to 40 fragment hashes again, at random places in the index, and that was the
-- largest share of what processing an event wrote to the database.
--
-- A set is one distinct group of fragments (the hashes of one event's details, under the key
-- current when it was processed) of one membership; its digest (8 bytes of a keyed hash of the
-- fragments) finds it again. An event points at the set of its details (events.search_set); a
-- later event with the same details points at the same set and writes no fragment. The rules of
-- 0007 hold: a search finds a membership that has one event whose details contain every
-- fragment; the hashes go when the last payload they were made from goes (stripped, deleted,
-- erased: see store/maintenance and store/member_search).
CREATE TABLE member_search_sets (
  id            INTEGER PRIMARY KEY,
  membership_id TEXT    NOT NULL,
  digest        BLOB    NOT NULL,
  UNIQUE (membership_id, digest)
);
CREATE TABLE member_search_tokens (
  token  BLOB    NOT NULL,
  set_id INTEGER NOT NULL REFERENCES member_search_sets (id) ON DELETE CASCADE,
  PRIMARY KEY (token, set_id)
) WITHOUT ROWID;
-- The set of the event's member details; NULL when it has none indexed (no payload, no details).
ALTER TABLE events ADD COLUMN search_set INTEGER;

-- Each event indexed before keeps its fragments as a set of its own, numbered like the event. Its
-- digest is text longer than the 8-byte digests written from now on, so it is never matched: the
-- next event with the same details makes a new set, and this one goes with its payload.
INSERT INTO member_search_sets (id, membership_id, digest)
  SELECT id, membership_id, CAST('before schema 12: event ' || id AS BLOB) FROM events
  WHERE id IN (SELECT event_id FROM member_search);
UPDATE events SET search_set = id WHERE id IN (SELECT id FROM member_search_sets);
INSERT INTO member_search_tokens (token, set_id) SELECT token, event_id FROM member_search;
CREATE INDEX member_search_tokens_set ON member_search_tokens (set_id);  -- after the copy: faster
DROP INDEX member_search_event;
DROP TABLE member_search;
