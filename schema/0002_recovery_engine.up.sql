-- Recovery engine: nudge schedule, incentive intent, tracked manage links, send intents.

ALTER TABLE cases ADD COLUMN next_nudge_at INTEGER;               -- NULL: no nudge pending
ALTER TABLE cases ADD COLUMN next_nudge_attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN incentive_state TEXT NOT NULL DEFAULT ''
  CHECK (incentive_state IN ('', 'pending', 'queued', 'granting', 'granted', 'failed', 'off'));
ALTER TABLE cases ADD COLUMN incentive_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN incentive_baseline INTEGER;           -- renewal_period_end before the grant
ALTER TABLE cases ADD COLUMN manage_url TEXT NOT NULL DEFAULT '';  -- Whop's manage page, cached
ALTER TABLE cases ADD COLUMN link_token TEXT;                      -- /r/{token}
ALTER TABLE cases ADD COLUMN dm_channel_id TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN first_click_at INTEGER;
ALTER TABLE cases ADD COLUMN clicks INTEGER NOT NULL DEFAULT 0;

CREATE INDEX cases_nudge_due ON cases (next_nudge_at) WHERE status = 'open' AND next_nudge_at IS NOT NULL;
CREATE INDEX cases_incentive_pending ON cases (incentive_state) WHERE incentive_state = 'pending';
CREATE UNIQUE INDEX cases_link_token ON cases (link_token) WHERE link_token IS NOT NULL;
CREATE INDEX events_payment ON events (payment_id, type, event_time) WHERE payment_id != '';

-- One row per message Churn Saver meant to send: recorded BEFORE the call, so a retry or a crash
-- can never send the same (case, attempt, channel) twice.
CREATE TABLE nudge_sends (
  id         INTEGER PRIMARY KEY,
  case_id    TEXT    NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
  attempt    TEXT    NOT NULL,      -- '0', '1', ... scheduled; 'm1', 'm2', ... manual
  channel    TEXT    NOT NULL CHECK (channel IN ('push', 'dm')),
  state      TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'unknown', 'skipped')),
  actor      TEXT    NOT NULL DEFAULT 'system',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (case_id, attempt, channel)
);

-- Reconciliation cursor and other small engine state.
CREATE TABLE engine_state (
  key        TEXT    PRIMARY KEY,
  value      TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
);
