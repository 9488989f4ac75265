-- Cases search by name, email and username fragments without storing them in plaintext: for each
-- stored event, the keyed hashes (HMAC-SHA256 under a key derived from the keyring, first 8 bytes)
-- of the lowercased 3-character fragments of the member's name, email and username, as a set (no
-- order, no count). A search hashes the fragments of what was typed and asks for the events that
-- have all of them. The rows go with their event (retention, erasure) and with its payload
-- (stripped payload: the hashes are deleted too, see store/maintenance).
CREATE TABLE member_search (
  token    BLOB    NOT NULL,
  event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  PRIMARY KEY (token, event_id)
) WITHOUT ROWID;
CREATE INDEX member_search_event ON member_search (event_id);
