-- Churn Saver schema v1. Times are unix milliseconds UTC; money is integer cents + currency.

-- Every webhook Whop delivered (and every event reconciliation synthesised), stored before 200.
CREATE TABLE events (
  id            INTEGER PRIMARY KEY,
  webhook_id    TEXT    NOT NULL UNIQUE,          -- the webhook-id header (dedup key)
  source        TEXT    NOT NULL DEFAULT 'webhook' CHECK (source IN ('webhook', 'reconcile')),
  type          TEXT    NOT NULL,
  api_version   TEXT    NOT NULL DEFAULT '',
  sig_scheme    TEXT    NOT NULL DEFAULT '',       -- 'v1' | 'legacy' | '' (reconciled)
  event_time    INTEGER NOT NULL,                  -- the event's own time
  received_at   INTEGER NOT NULL,
  membership_id TEXT    NOT NULL DEFAULT '',
  payment_id    TEXT    NOT NULL DEFAULT '',
  user_id       TEXT    NOT NULL DEFAULT '',
  amount_cents  INTEGER,
  currency      TEXT    NOT NULL DEFAULT '',
  failure_message TEXT  NOT NULL DEFAULT '',         -- Whop's decline text (not personal)
  payload       BLOB,                              -- AES-256-GCM sealed raw body (NULL once stripped)
  process_state TEXT    NOT NULL DEFAULT 'pending'
                CHECK (process_state IN ('pending', 'processed', 'ignored', 'failed')),
  process_note  TEXT    NOT NULL DEFAULT '',
  processed_at  INTEGER
);
CREATE INDEX events_membership ON events (membership_id, event_time);
CREATE INDEX events_received ON events (received_at);

-- One failure episode of one membership.
CREATE TABLE cases (
  id                  TEXT    PRIMARY KEY,         -- random 128-bit hex
  membership_id       TEXT    NOT NULL,
  user_id             TEXT    NOT NULL DEFAULT '',
  username            TEXT    NOT NULL DEFAULT '',
  company_id          TEXT    NOT NULL DEFAULT '',
  product_id          TEXT    NOT NULL DEFAULT '',
  product_title       TEXT    NOT NULL DEFAULT '',
  plan_id             TEXT    NOT NULL DEFAULT '',
  status              TEXT    NOT NULL CHECK (status IN ('open', 'recovered', 'lost', 'cancelled')),
  resolution          TEXT    NOT NULL DEFAULT '',
  first_failure_at    INTEGER NOT NULL,
  last_failure_at     INTEGER NOT NULL,
  failures            INTEGER NOT NULL DEFAULT 1,
  amount_due_cents    INTEGER NOT NULL DEFAULT 0,
  currency            TEXT    NOT NULL DEFAULT '',
  failure_message     TEXT    NOT NULL DEFAULT '',
  resolved_at         INTEGER,
  recovered_cents     INTEGER NOT NULL DEFAULT 0,
  recovery_payment_id TEXT    NOT NULL DEFAULT '',
  refunded_cents      INTEGER NOT NULL DEFAULT 0,
  cancelled_at        INTEGER,                     -- set by the admin; overrides open
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
CREATE INDEX cases_membership ON cases (membership_id, first_failure_at);
CREATE INDEX cases_status ON cases (status, first_failure_at);
CREATE INDEX cases_first_failure ON cases (first_failure_at);

-- Audit trail: every case transition and every call to Whop. No message text, no personal data.
CREATE TABLE recovery_actions (
  id       INTEGER PRIMARY KEY,
  case_id  TEXT    REFERENCES cases (id) ON DELETE CASCADE,
  at       INTEGER NOT NULL,
  type     TEXT    NOT NULL,
  channel  TEXT    NOT NULL DEFAULT '',
  attempt  INTEGER,
  actor    TEXT    NOT NULL DEFAULT 'system' CHECK (actor IN ('system', 'admin')),
  outcome  TEXT    NOT NULL DEFAULT '',
  metadata TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX recovery_actions_case ON recovery_actions (case_id, at);

-- Table-backed job queue: queued -> running -> done | failed -> ... -> dead.
CREATE TABLE jobs (
  id           INTEGER PRIMARY KEY,
  kind         TEXT    NOT NULL,
  unique_key   TEXT    UNIQUE,
  payload      TEXT    NOT NULL DEFAULT '{}',
  state        TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'dead')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  run_at       INTEGER NOT NULL,
  lease_until  INTEGER,
  last_error   TEXT    NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- Creator settings (key/value; secrets sealed).
CREATE TABLE settings (
  key        TEXT    PRIMARY KEY,
  value      TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
);
