-- Experiments: A/B tests of the recovery playbook with an optional no-contact holdout.
CREATE TABLE experiments (
  id              INTEGER PRIMARY KEY,
  name            TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
  holdout_percent INTEGER NOT NULL DEFAULT 0 CHECK (holdout_percent BETWEEN 0 AND 50),
  created_at      INTEGER NOT NULL,
  started_at      INTEGER,
  stopped_at      INTEGER,
  views           INTEGER NOT NULL DEFAULT 0,  -- looks at the results (the peeking warning)
  -- HMAC key of the case assignment (hex), derived from the app's keyring when the experiment is
  -- created; kept here so every path that creates a case assigns it the same way, and a later
  -- key rotation never moves a case.
  assignment_key  TEXT    NOT NULL
);
CREATE INDEX experiments_status ON experiments (status);

-- The arms of an experiment: a variant of the playbook (copy of every step, optional free days).
CREATE TABLE experiment_arms (
  experiment_id  INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  key            TEXT    NOT NULL CHECK (key IN ('a', 'b', 'c', 'd')),
  name           TEXT    NOT NULL,
  weight         INTEGER NOT NULL CHECK (weight BETWEEN 1 AND 100),
  incentive_days INTEGER,                    -- NULL: the settings' free days
  copy           TEXT    NOT NULL,           -- JSON as domain::copy_to_json
  PRIMARY KEY (experiment_id, key)
);

-- The arm of a case, written once when the case is created while an experiment runs; never
-- changed afterwards ('holdout': nobody contacts the case).
CREATE TABLE case_arms (
  case_id       TEXT    PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
  experiment_id INTEGER NOT NULL REFERENCES experiments (id),
  arm           TEXT    NOT NULL CHECK (arm IN ('a', 'b', 'c', 'd', 'holdout')),
  assigned_at   INTEGER NOT NULL
);
CREATE INDEX case_arms_experiment ON case_arms (experiment_id, arm);
