-- "Paid after the window" in the overview's rollup (issue 14 item 2). The overview counted it
-- from the events on every request (one index probe per lost case of the window and of the
-- previous one); it is now a fact of each case, summed per bucket like the other figures.
--
-- cases.last_paid_at: the time of the latest payment.succeeded stored for the case's membership,
-- or for the same member (user) and product under another membership (a purchase after Whop
-- cancelled the old one). Kept by the triggers below whoever writes (the processor marking a
-- payment processed, a case created or learning its member, an operator's sqlite3). It is never
-- lowered: retention and erasure delete events, not the fact that the member paid.
--
-- rollup_failures.paid_late: cases lost without a payment (expired, or deactivated) whose member
-- paid after the case was lost (last_paid_at > resolved_at). A payment inside the attribution
-- window recovers such a case (domain::fold_membership), so for a lost case "paid after it was
-- lost" is "paid after its window", the window it was folded with; that does not change when the
-- attribution window setting does, which is why it can be summed per bucket.
ALTER TABLE cases ADD COLUMN last_paid_at INTEGER;
ALTER TABLE rollup_failures ADD COLUMN paid_late INTEGER NOT NULL DEFAULT 0;

-- Existing cases: the payments stored now.
UPDATE cases SET last_paid_at = (SELECT max(t) FROM (
    SELECT max(e.event_time) AS t FROM events e WHERE e.membership_id = cases.membership_id
      AND e.type = 'payment.succeeded'
    UNION ALL
    SELECT max(e.event_time) FROM events e WHERE cases.user_id != '' AND cases.product_id != ''
      AND e.user_id = cases.user_id AND e.product_id = cases.product_id AND e.user_id != ''
      AND e.product_id != '' AND e.type = 'payment.succeeded'));

-- A payment once processed (or stored already settled) moves last_paid_at of every case of its
-- membership, and of the same member's cases for the same product, forward to its time.
CREATE TRIGGER events_last_paid_processed AFTER UPDATE OF process_state ON events
WHEN NEW.type = 'payment.succeeded' AND OLD.process_state IS NOT NEW.process_state
BEGIN
  UPDATE cases SET last_paid_at = NEW.event_time
    WHERE membership_id = NEW.membership_id AND NEW.membership_id != ''
      AND (last_paid_at IS NULL OR last_paid_at < NEW.event_time);
  UPDATE cases SET last_paid_at = NEW.event_time
    WHERE user_id = NEW.user_id AND product_id = NEW.product_id AND NEW.user_id != ''
      AND NEW.product_id != '' AND (last_paid_at IS NULL OR last_paid_at < NEW.event_time);
END;

CREATE TRIGGER events_last_paid_insert AFTER INSERT ON events
WHEN NEW.type = 'payment.succeeded' AND NEW.process_state != 'pending'
BEGIN
  UPDATE cases SET last_paid_at = NEW.event_time
    WHERE membership_id = NEW.membership_id AND NEW.membership_id != ''
      AND (last_paid_at IS NULL OR last_paid_at < NEW.event_time);
  UPDATE cases SET last_paid_at = NEW.event_time
    WHERE user_id = NEW.user_id AND product_id = NEW.product_id AND NEW.user_id != ''
      AND NEW.product_id != '' AND (last_paid_at IS NULL OR last_paid_at < NEW.event_time);
END;

-- A new case, or one that learns its member or product, takes the payments already stored.
CREATE TRIGGER cases_last_paid_insert AFTER INSERT ON cases BEGIN
  UPDATE cases SET last_paid_at = (SELECT max(t) FROM (
    SELECT max(e.event_time) AS t FROM events e WHERE e.membership_id = NEW.membership_id
      AND e.type = 'payment.succeeded'
    UNION ALL
    SELECT max(e.event_time) FROM events e WHERE NEW.user_id != '' AND NEW.product_id != ''
      AND e.user_id = NEW.user_id AND e.product_id = NEW.product_id AND e.user_id != ''
      AND e.product_id != '' AND e.type = 'payment.succeeded'))
    WHERE id = NEW.id AND (SELECT max(t) FROM (
    SELECT max(e.event_time) AS t FROM events e WHERE e.membership_id = NEW.membership_id
      AND e.type = 'payment.succeeded'
    UNION ALL
    SELECT max(e.event_time) FROM events e WHERE NEW.user_id != '' AND NEW.product_id != ''
      AND e.user_id = NEW.user_id AND e.product_id = NEW.product_id AND e.user_id != ''
      AND e.product_id != '' AND e.type = 'payment.succeeded')) > ifnull(last_paid_at, -1);
END;

CREATE TRIGGER cases_last_paid_update AFTER UPDATE OF membership_id, user_id, product_id ON cases
WHEN OLD.membership_id IS NOT NEW.membership_id OR OLD.user_id IS NOT NEW.user_id
  OR OLD.product_id IS NOT NEW.product_id
BEGIN
  UPDATE cases SET last_paid_at = (SELECT max(t) FROM (
    SELECT max(e.event_time) AS t FROM events e WHERE e.membership_id = NEW.membership_id
      AND e.type = 'payment.succeeded'
    UNION ALL
    SELECT max(e.event_time) FROM events e WHERE NEW.user_id != '' AND NEW.product_id != ''
      AND e.user_id = NEW.user_id AND e.product_id = NEW.product_id AND e.user_id != ''
      AND e.product_id != '' AND e.type = 'payment.succeeded'))
    WHERE id = NEW.id AND (SELECT max(t) FROM (
    SELECT max(e.event_time) AS t FROM events e WHERE e.membership_id = NEW.membership_id
      AND e.type = 'payment.succeeded'
    UNION ALL
    SELECT max(e.event_time) FROM events e WHERE NEW.user_id != '' AND NEW.product_id != ''
      AND e.user_id = NEW.user_id AND e.product_id = NEW.product_id AND e.user_id != ''
      AND e.product_id != '' AND e.type = 'payment.succeeded')) > ifnull(last_paid_at, -1);
END;

-- The rollup's views and case triggers again, with paid_late (whose terms are resolution,
-- last_paid_at and resolved_at).
DROP TRIGGER rollup_case_insert;
DROP TRIGGER rollup_case_delete;
DROP TRIGGER rollup_case_update_before;
DROP TRIGGER rollup_case_update_after;
DROP VIEW rollup_failure_source;

-- By the bucket of the case's first failure; paid_late: lost without a payment (expired or
-- deactivated), and the member paid after the case was lost.
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
  rec AND lag >= 1209600000 AS ttr5,
  ifnull(status = 'lost' AND resolution IN ('expired', 'deactivated')
    AND last_paid_at > resolved_at, 0) AS paid_late
FROM (
  SELECT c.id, c.first_failure_at, c.currency, c.status, c.amount_due_cents, c.recovered_cents,
    c.refunded_cents, c.first_click_at, c.resolved_at, c.incentive_state, c.incentive_days,
    c.resolution, c.last_paid_at,
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

CREATE TRIGGER rollup_case_insert AFTER INSERT ON cases BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late)
    SELECT bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late
    FROM rollup_failure_source WHERE id = NEW.id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5, paid_late = paid_late + excluded.paid_late;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, recoveries, net_cents
    FROM rollup_recovery_source WHERE id = NEW.id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
  UPDATE rollup_state SET max_recovery_lag = max(max_recovery_lag, ifnull(
    (SELECT at - first_failure_at FROM rollup_recovery_source WHERE id = NEW.id), 0));
END;

CREATE TRIGGER rollup_case_delete BEFORE DELETE ON cases BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late)
    SELECT bucket, currency, -cases, -open_cases, -at_risk_cents, -recovered, -recovered_net_cents, -lost, -lost_cents, -cancelled, -click_through, -incentive_days, -incentive_cases, -att0, -att1, -att2, -att3, -att4, -att5, -ch0, -ch1, -ch2, -ch3, -ttr0, -ttr1, -ttr2, -ttr3, -ttr4, -ttr5, -paid_late
    FROM rollup_failure_source WHERE id = OLD.id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5, paid_late = paid_late + excluded.paid_late;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, -recoveries, -net_cents
    FROM rollup_recovery_source WHERE id = OLD.id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
END;

CREATE TRIGGER rollup_case_update_before BEFORE UPDATE OF status, first_failure_at, currency, amount_due_cents, recovered_cents, refunded_cents, resolved_at, first_click_at, incentive_state, incentive_days, resolution, last_paid_at, id
ON cases WHEN
  OLD.id IS NOT NEW.id OR OLD.status IS NOT NEW.status OR OLD.first_failure_at IS NOT
  NEW.first_failure_at OR OLD.currency IS NOT NEW.currency OR OLD.amount_due_cents IS NOT
  NEW.amount_due_cents OR OLD.recovered_cents IS NOT NEW.recovered_cents OR OLD.refunded_cents IS
  NOT NEW.refunded_cents OR OLD.resolved_at IS NOT NEW.resolved_at OR OLD.first_click_at IS NOT
  NEW.first_click_at OR OLD.incentive_state IS NOT NEW.incentive_state OR OLD.incentive_days IS
  NOT NEW.incentive_days OR OLD.resolution IS NOT NEW.resolution OR
  ifnull(OLD.last_paid_at > OLD.resolved_at, 0) IS NOT ifnull(NEW.last_paid_at > NEW.resolved_at, 0)
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late)
    SELECT bucket, currency, -cases, -open_cases, -at_risk_cents, -recovered, -recovered_net_cents, -lost, -lost_cents, -cancelled, -click_through, -incentive_days, -incentive_cases, -att0, -att1, -att2, -att3, -att4, -att5, -ch0, -ch1, -ch2, -ch3, -ttr0, -ttr1, -ttr2, -ttr3, -ttr4, -ttr5, -paid_late
    FROM rollup_failure_source WHERE id = OLD.id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5, paid_late = paid_late + excluded.paid_late;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, -recoveries, -net_cents
    FROM rollup_recovery_source WHERE id = OLD.id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
END;

CREATE TRIGGER rollup_case_update_after AFTER UPDATE OF status, first_failure_at, currency, amount_due_cents, recovered_cents, refunded_cents, resolved_at, first_click_at, incentive_state, incentive_days, resolution, last_paid_at, id
ON cases WHEN
  OLD.id IS NOT NEW.id OR OLD.status IS NOT NEW.status OR OLD.first_failure_at IS NOT
  NEW.first_failure_at OR OLD.currency IS NOT NEW.currency OR OLD.amount_due_cents IS NOT
  NEW.amount_due_cents OR OLD.recovered_cents IS NOT NEW.recovered_cents OR OLD.refunded_cents IS
  NOT NEW.refunded_cents OR OLD.resolved_at IS NOT NEW.resolved_at OR OLD.first_click_at IS NOT
  NEW.first_click_at OR OLD.incentive_state IS NOT NEW.incentive_state OR OLD.incentive_days IS
  NOT NEW.incentive_days OR OLD.resolution IS NOT NEW.resolution OR
  ifnull(OLD.last_paid_at > OLD.resolved_at, 0) IS NOT ifnull(NEW.last_paid_at > NEW.resolved_at, 0)
BEGIN
  INSERT INTO rollup_failures (bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late)
    SELECT bucket, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late
    FROM rollup_failure_source WHERE id = NEW.id
    ON CONFLICT (bucket, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5, paid_late = paid_late + excluded.paid_late;
  INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents)
    SELECT bucket, currency, recoveries, net_cents
    FROM rollup_recovery_source WHERE id = NEW.id
    ON CONFLICT (bucket, currency) DO UPDATE SET recoveries = recoveries + excluded.recoveries, net_cents = net_cents + excluded.net_cents;
  UPDATE rollup_state SET max_recovery_lag = max(max_recovery_lag, ifnull(
    (SELECT at - first_failure_at FROM rollup_recovery_source WHERE id = NEW.id), 0));
END;

-- Existing databases: the lost cases that paid later, into the rows their buckets already have.
UPDATE rollup_failures SET paid_late = p.n FROM (
  SELECT first_failure_at / 900000 AS bucket, currency, count(*) AS n FROM cases
  WHERE status = 'lost' AND resolution IN ('expired', 'deactivated') AND last_paid_at > resolved_at
  GROUP BY 1, 2) AS p
WHERE rollup_failures.bucket = p.bucket AND rollup_failures.currency = p.currency;

-- Nothing reads the lost cases' payments from the events any more.
DROP INDEX cases_lost_unpaid;
