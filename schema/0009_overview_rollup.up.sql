-- The overview's rollup (issue 14 item 2): the overview's figures summed per 15-minute bucket in
-- UTC (domain/rollup.h: kRollupBucketMs), so any time zone's days, whose offsets are whole quarter
-- hours, are whole numbers of buckets. Kept by triggers in the same transaction as every change
-- of a case or of a sent nudge, whoever writes it (the processor, the engine, retention, erasure,
-- an operator's sqlite3), and rebuilt from the cases by `churn-saver rollup rebuild`.
--
-- What one case contributes is written once, in the two views below; the triggers subtract a
-- case's rows before it changes and add them after, the fill and the rebuild sum them.
-- The SQL spells out domain::net_recovered_cents (recovered less refunds, never below zero) and
-- store::kRecoveryBucketDays (1, 2, 4, 7, 14 days): a view cannot call the app's functions, and
-- the database must stay writable from the sqlite3 shell. tests/store/test_rollup.cpp recounts
-- every figure with the domain's functions.

-- By the bucket of the case's first failure (the overview's cohort): counts by status, money by
-- status, free days, clicks, and for recovered cases the nudges sent before paying (distinct
-- attempts, channels) and the time from the first failure to the recovery.
CREATE VIEW rollup_failure_source AS
SELECT id, first_failure_at AS at, first_failure_at / 900000 AS bucket, currency,
  1 AS cases,
  status = 'open' AS open_cases,
  CASE WHEN status = 'open' THEN amount_due_cents ELSE 0 END AS at_risk_cents,
  status = 'recovered' AS recovered,
  CASE WHEN status = 'recovered'
    THEN max(0, recovered_cents - min(refunded_cents, recovered_cents)) ELSE 0 END
    AS recovered_net_cents,
  status = 'lost' AS lost,
  CASE WHEN status = 'lost' THEN amount_due_cents ELSE 0 END AS lost_cents,
  status = 'cancelled' AS cancelled,
  ifnull(status = 'recovered' AND first_click_at IS NOT NULL AND first_click_at <= resolved_at, 0)
    AS click_through,
  CASE WHEN incentive_state = 'granted' THEN incentive_days ELSE 0 END AS incentive_days,
  incentive_state = 'granted' AS incentive_cases,
  rec AND attempts = 0 AS att0, rec AND attempts = 1 AS att1, rec AND attempts = 2 AS att2,
  rec AND attempts = 3 AS att3, rec AND attempts = 4 AS att4, rec AND attempts >= 5 AS att5,
  rec AND channels = 0 AS ch0, rec AND channels = 1 AS ch1, rec AND channels = 2 AS ch2,
  rec AND channels = 3 AS ch3,
  rec AND lag < 86400000 AS ttr0,
  rec AND lag >= 86400000 AND lag < 172800000 AS ttr1,
  rec AND lag >= 172800000 AND lag < 345600000 AS ttr2,
  rec AND lag >= 345600000 AND lag < 604800000 AS ttr3,
  rec AND lag >= 604800000 AND lag < 1209600000 AS ttr4,
  rec AND lag >= 1209600000 AS ttr5
FROM (
  SELECT c.id, c.first_failure_at, c.currency, c.status, c.amount_due_cents, c.recovered_cents,
    c.refunded_cents, c.first_click_at, c.resolved_at, c.incentive_state, c.incentive_days,
    c.status = 'recovered' AS rec,
    ifnull(c.resolved_at - c.first_failure_at, 0) AS lag,
    CASE WHEN c.status = 'recovered' THEN (SELECT count(DISTINCT n.attempt) FROM nudge_sends n
      WHERE n.case_id = c.id AND n.state = 'sent' AND n.created_at <= c.resolved_at) ELSE 0 END
      AS attempts,
    CASE WHEN c.status = 'recovered' THEN (SELECT ifnull(max(n.channel = 'push'), 0)
      + 2 * ifnull(max(n.channel = 'dm'), 0) FROM nudge_sends n
      WHERE n.case_id = c.id AND n.state = 'sent' AND n.created_at <= c.resolved_at) ELSE 0 END
      AS channels
  FROM cases c
);

-- By the bucket of the recovery: recovered cases and their net revenue (the day charts).
CREATE VIEW rollup_recovery_source AS
SELECT id, resolved_at AS at, first_failure_at, resolved_at / 900000 AS bucket, currency,
  1 AS recoveries,
  max(0, recovered_cents - min(refunded_cents, recovered_cents)) AS net_cents
FROM cases WHERE status = 'recovered' AND resolved_at IS NOT NULL;
CREATE TABLE rollup_failures (
  bucket INTEGER NOT NULL,  -- first_failure_at / 900000
  currency TEXT NOT NULL,
  cases INTEGER NOT NULL DEFAULT 0,
  open_cases INTEGER NOT NULL DEFAULT 0,
  at_risk_cents INTEGER NOT NULL DEFAULT 0,
  recovered INTEGER NOT NULL DEFAULT 0,
  recovered_net_cents INTEGER NOT NULL DEFAULT 0,
  lost INTEGER NOT NULL DEFAULT 0,
  lost_cents INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0,
  click_through INTEGER NOT NULL DEFAULT 0,
  incentive_days INTEGER NOT NULL DEFAULT 0,
  incentive_cases INTEGER NOT NULL DEFAULT 0,
  att0 INTEGER NOT NULL DEFAULT 0,
  att1 INTEGER NOT NULL DEFAULT 0,
  att2 INTEGER NOT NULL DEFAULT 0,
  att3 INTEGER NOT NULL DEFAULT 0,
  att4 INTEGER NOT NULL DEFAULT 0,
  att5 INTEGER NOT NULL DEFAULT 0,
  ch0 INTEGER NOT NULL DEFAULT 0,
  ch1 INTEGER NOT NULL DEFAULT 0,
  ch2 INTEGER NOT NULL DEFAULT 0,
  ch3 INTEGER NOT NULL DEFAULT 0,
  ttr0 INTEGER NOT NULL DEFAULT 0,
  ttr1 INTEGER NOT NULL DEFAULT 0,
  ttr2 INTEGER NOT NULL DEFAULT 0,
  ttr3 INTEGER NOT NULL DEFAULT 0,
  ttr4 INTEGER NOT NULL DEFAULT 0,
  ttr5 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, currency)
) WITHOUT ROWID;

CREATE TABLE rollup_recoveries (
  bucket INTEGER NOT NULL,  -- resolved_at / 900000
  currency TEXT NOT NULL,
  recoveries INTEGER NOT NULL DEFAULT 0,
  net_cents INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, currency)
) WITHOUT ROWID;

-- The longest time from a first failure to its recovery ever seen (never lowered until a
-- rebuild): how far before a window the recoveries inside it can have started.
CREATE TABLE rollup_state (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  max_recovery_lag INTEGER NOT NULL DEFAULT 0
);
INSERT INTO rollup_state (id, max_recovery_lag) VALUES (1, 0);

CREATE TRIGGER rollup_case_insert AFTER INSERT ON cases BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5
    FROM rollup_failure_source WHERE id = NEW.id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, recoveries, net_cents
    FROM rollup_recovery_source WHERE id = NEW.id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
  UPDATE rollup_state SET max_recovery_lag = max(max_recovery_lag, ifnull(
    (SELECT at - first_failure_at FROM rollup_recovery_source WHERE id = NEW.id), 0));
END;

CREATE TRIGGER rollup_case_delete BEFORE DELETE ON cases BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, -cases, -open_cases, -at_risk_cents, -recovered, -recovered_net_cents, -lost, -lost_cents, -cancelled, -click_through, -incentive_days, -incentive_cases, -att0, -att1, -att2, -att3, -att4, -att5, -ch0, -ch1, -ch2, -ch3, -ttr0, -ttr1, -ttr2, -ttr3, -ttr4, -ttr5
    FROM rollup_failure_source WHERE id = OLD.id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, -recoveries, -net_cents
    FROM rollup_recovery_source WHERE id = OLD.id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
END;

CREATE TRIGGER rollup_case_update_before BEFORE UPDATE OF status, first_failure_at, currency, amount_due_cents, recovered_cents, refunded_cents, resolved_at, first_click_at, incentive_state, incentive_days, id
ON cases WHEN
  OLD.id IS NOT NEW.id OR OLD.status IS NOT NEW.status OR OLD.first_failure_at IS NOT
  NEW.first_failure_at OR OLD.currency IS NOT NEW.currency OR OLD.amount_due_cents IS NOT
  NEW.amount_due_cents OR OLD.recovered_cents IS NOT NEW.recovered_cents OR OLD.refunded_cents IS
  NOT NEW.refunded_cents OR OLD.resolved_at IS NOT NEW.resolved_at OR OLD.first_click_at IS NOT
  NEW.first_click_at OR OLD.incentive_state IS NOT NEW.incentive_state OR OLD.incentive_days IS
  NOT NEW.incentive_days
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, -cases, -open_cases, -at_risk_cents, -recovered, -recovered_net_cents, -lost, -lost_cents, -cancelled, -click_through, -incentive_days, -incentive_cases, -att0, -att1, -att2, -att3, -att4, -att5, -ch0, -ch1, -ch2, -ch3, -ttr0, -ttr1, -ttr2, -ttr3, -ttr4, -ttr5
    FROM rollup_failure_source WHERE id = OLD.id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, -recoveries, -net_cents
    FROM rollup_recovery_source WHERE id = OLD.id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
END;

CREATE TRIGGER rollup_case_update_after AFTER UPDATE OF status, first_failure_at, currency, amount_due_cents, recovered_cents, refunded_cents, resolved_at, first_click_at, incentive_state, incentive_days, id
ON cases WHEN
  OLD.id IS NOT NEW.id OR OLD.status IS NOT NEW.status OR OLD.first_failure_at IS NOT
  NEW.first_failure_at OR OLD.currency IS NOT NEW.currency OR OLD.amount_due_cents IS NOT
  NEW.amount_due_cents OR OLD.recovered_cents IS NOT NEW.recovered_cents OR OLD.refunded_cents IS
  NOT NEW.refunded_cents OR OLD.resolved_at IS NOT NEW.resolved_at OR OLD.first_click_at IS NOT
  NEW.first_click_at OR OLD.incentive_state IS NOT NEW.incentive_state OR OLD.incentive_days IS
  NOT NEW.incentive_days
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5
    FROM rollup_failure_source WHERE id = NEW.id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, recoveries, net_cents
    FROM rollup_recovery_source WHERE id = NEW.id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
  UPDATE rollup_state SET max_recovery_lag = max(max_recovery_lag, ifnull(
    (SELECT at - first_failure_at FROM rollup_recovery_source WHERE id = NEW.id), 0));
END;

-- A sent nudge counts for a recovered case only (the case's own triggers count the others when
-- they recover). Inserts of a row that is already there (OR IGNORE, ON CONFLICT DO NOTHING) are
-- left out before they happen; the app inserts 'sending' and updates to 'sent'. A nudge never
-- moves to another case.
CREATE TRIGGER rollup_nudge_insert_before BEFORE INSERT ON nudge_sends
WHEN NEW.state = 'sent' AND (SELECT status FROM cases WHERE id = NEW.case_id) = 'recovered'
  AND NOT EXISTS (SELECT 1 FROM nudge_sends WHERE case_id = NEW.case_id AND attempt = NEW.attempt
    AND channel = NEW.channel)
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, -cases, -open_cases, -at_risk_cents, -recovered, -recovered_net_cents, -lost, -lost_cents, -cancelled, -click_through, -incentive_days, -incentive_cases, -att0, -att1, -att2, -att3, -att4, -att5, -ch0, -ch1, -ch2, -ch3, -ttr0, -ttr1, -ttr2, -ttr3, -ttr4, -ttr5
    FROM rollup_failure_source WHERE id = NEW.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, -recoveries, -net_cents
    FROM rollup_recovery_source WHERE id = NEW.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
END;

CREATE TRIGGER rollup_nudge_insert_after AFTER INSERT ON nudge_sends
WHEN NEW.state = 'sent' AND (SELECT status FROM cases WHERE id = NEW.case_id) = 'recovered'
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5
    FROM rollup_failure_source WHERE id = NEW.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, recoveries, net_cents
    FROM rollup_recovery_source WHERE id = NEW.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
  UPDATE rollup_state SET max_recovery_lag = max(max_recovery_lag, ifnull(
    (SELECT at - first_failure_at FROM rollup_recovery_source WHERE id = NEW.case_id), 0));
END;

CREATE TRIGGER rollup_nudge_update_before BEFORE UPDATE OF state, created_at, attempt, channel
ON nudge_sends WHEN
  (OLD.state = 'sent' OR NEW.state = 'sent') AND (OLD.state IS NOT NEW.state OR OLD.created_at IS
  NOT NEW.created_at OR OLD.attempt IS NOT NEW.attempt OR OLD.channel IS NOT NEW.channel)
  AND (SELECT status FROM cases WHERE id = OLD.case_id) = 'recovered'
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, -cases, -open_cases, -at_risk_cents, -recovered, -recovered_net_cents, -lost, -lost_cents, -cancelled, -click_through, -incentive_days, -incentive_cases, -att0, -att1, -att2, -att3, -att4, -att5, -ch0, -ch1, -ch2, -ch3, -ttr0, -ttr1, -ttr2, -ttr3, -ttr4, -ttr5
    FROM rollup_failure_source WHERE id = OLD.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, -recoveries, -net_cents
    FROM rollup_recovery_source WHERE id = OLD.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
END;

CREATE TRIGGER rollup_nudge_update_after AFTER UPDATE OF state, created_at, attempt, channel
ON nudge_sends WHEN
  (OLD.state = 'sent' OR NEW.state = 'sent') AND (OLD.state IS NOT NEW.state OR OLD.created_at IS
  NOT NEW.created_at OR OLD.attempt IS NOT NEW.attempt OR OLD.channel IS NOT NEW.channel)
  AND (SELECT status FROM cases WHERE id = NEW.case_id) = 'recovered'
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5
    FROM rollup_failure_source WHERE id = NEW.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, recoveries, net_cents
    FROM rollup_recovery_source WHERE id = NEW.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
  UPDATE rollup_state SET max_recovery_lag = max(max_recovery_lag, ifnull(
    (SELECT at - first_failure_at FROM rollup_recovery_source WHERE id = NEW.case_id), 0));
END;

CREATE TRIGGER rollup_nudge_delete_before BEFORE DELETE ON nudge_sends
WHEN OLD.state = 'sent' AND (SELECT status FROM cases WHERE id = OLD.case_id) = 'recovered'
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, -cases, -open_cases, -at_risk_cents, -recovered, -recovered_net_cents, -lost, -lost_cents, -cancelled, -click_through, -incentive_days, -incentive_cases, -att0, -att1, -att2, -att3, -att4, -att5, -ch0, -ch1, -ch2, -ch3, -ttr0, -ttr1, -ttr2, -ttr3, -ttr4, -ttr5
    FROM rollup_failure_source WHERE id = OLD.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, -recoveries, -net_cents
    FROM rollup_recovery_source WHERE id = OLD.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
END;

CREATE TRIGGER rollup_nudge_delete_after AFTER DELETE ON nudge_sends
WHEN OLD.state = 'sent' AND (SELECT status FROM cases WHERE id = OLD.case_id) = 'recovered'
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
    SELECT bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5
    FROM rollup_failure_source WHERE id = OLD.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, recoveries, net_cents
    FROM rollup_recovery_source WHERE id = OLD.case_id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
  UPDATE rollup_state SET max_recovery_lag = max(max_recovery_lag, ifnull(
    (SELECT at - first_failure_at FROM rollup_recovery_source WHERE id = OLD.case_id), 0));
END;

-- Existing databases: every case as it stands.
INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5)
  SELECT bucket, currency, sum(cases), sum(open_cases), sum(at_risk_cents), sum(recovered), sum(recovered_net_cents), sum(lost), sum(lost_cents), sum(cancelled), sum(click_through), sum(incentive_days), sum(incentive_cases), sum(att0), sum(att1), sum(att2), sum(att3), sum(att4), sum(att5), sum(ch0), sum(ch1), sum(ch2), sum(ch3), sum(ttr0), sum(ttr1), sum(ttr2), sum(ttr3), sum(ttr4), sum(ttr5)
  FROM rollup_failure_source GROUP BY bucket, currency;
INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
  SELECT bucket, currency, sum(recoveries), sum(net_cents)
  FROM rollup_recovery_source GROUP BY bucket, currency;
UPDATE rollup_state SET max_recovery_lag =
  max(0, ifnull((SELECT max(at - first_failure_at) FROM rollup_recovery_source), 0));

-- "Paid after the window" reads the cases that were lost without a payment (expired or
-- deactivated) and looks for a later payment in the events; this index holds only those cases.
CREATE INDEX cases_lost_unpaid ON cases (first_failure_at, membership_id, user_id, product_id)
  WHERE status = 'lost' AND resolution IN ('expired', 'deactivated');

-- The overview's "getting started" asks whether a test webhook was ever stored (store::
-- kTestWebhookType); without an index that read every event on every overview.
CREATE INDEX events_test_webhook ON events (type) WHERE type = 'churn_saver.test_webhook';
