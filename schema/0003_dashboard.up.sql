-- Dashboard: the single admin, server-side sessions, one-time setup links, and the indexes the
-- dashboard's lists, searches and export read through.

-- The one admin account (id is always 1). password_hash: "pbkdf2-sha256$<iterations>$<salt>$<hash>".
CREATE TABLE admin_user (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  password_hash TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

-- Sessions: only the SHA-256 of the cookie's 128-bit id is stored.
CREATE TABLE sessions (
  id_hash      TEXT    PRIMARY KEY,               -- hex SHA-256 of the session id
  csrf_token   TEXT    NOT NULL,                  -- per-session form token
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,                  -- idle expiry counts from here
  expires_at   INTEGER NOT NULL                   -- absolute expiry
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- One-time setup links (printed by `serve` while no admin exists).
CREATE TABLE setup_tokens (
  token_hash TEXT    PRIMARY KEY,                 -- hex SHA-256 of the token in the link
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
);

-- Cases list: keyset pagination per sort, with and without a status filter; search. The first two
-- replace 0001's cases_status and cases_first_failure (their prefixes), so a case write updates
-- two indexes fewer.
CREATE INDEX cases_status_first_id ON cases (status, first_failure_at, id);
CREATE INDEX cases_first_id ON cases (first_failure_at, id);
DROP INDEX cases_status;
DROP INDEX cases_first_failure;
CREATE INDEX cases_status_amount_id ON cases (status, amount_due_cents, id);
CREATE INDEX cases_amount_id ON cases (amount_due_cents, id);
CREATE INDEX cases_username ON cases (username);
CREATE INDEX cases_user ON cases (user_id);
-- Overview: KPIs and charts of a window read this index alone, one status at a time.
CREATE INDEX cases_window ON cases (status, first_failure_at, currency, recovered_cents,
  refunded_cents, amount_due_cents, incentive_state, incentive_days, resolved_at, first_click_at,
  id);
-- Overview: the nudges sent before each recovery, without table lookups.
CREATE INDEX nudge_sends_case_sent ON nudge_sends (case_id, state, created_at, attempt, channel);
-- Events page: newest first per processing state.
CREATE INDEX events_state ON events (process_state, id);
