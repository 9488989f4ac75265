-- The overview's rollup by UTC day (issue 14 item 2): rollup_failures (15-minute buckets) summed
-- per day, day = bucket / 96 (domain/rollup.h: kRollupBucketsPerDay). Kept by triggers on
-- rollup_failures itself, so whatever writes a bucket (the case triggers, a rebuild, an
-- operator's sqlite3) moves its day in the same statement. A window's sums read its whole UTC
-- days here and only the quarter hours at its two ends in rollup_failures (store/rollup.cpp:
-- sum_failures): 90 days are about 90 + 2 x 95 rows instead of 8,640. The day charts, whose days
-- are the display zone's, still read buckets. Generated from one column list (paid_late last,
-- as schema/0010 added it); tests/store/test_rollup.cpp checks every day against its buckets.

CREATE TABLE rollup_failures_day (
  day INTEGER NOT NULL,  -- bucket / 96: first_failure_at / 86400000
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
  paid_late INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, currency)
) WITHOUT ROWID;

INSERT INTO rollup_failures_day (day, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late)
  SELECT bucket / 96, currency, sum(cases), sum(open_cases), sum(at_risk_cents), sum(recovered), sum(recovered_net_cents), sum(lost), sum(lost_cents), sum(cancelled), sum(click_through), sum(incentive_days), sum(incentive_cases), sum(att0), sum(att1), sum(att2), sum(att3), sum(att4), sum(att5), sum(ch0), sum(ch1), sum(ch2), sum(ch3), sum(ttr0), sum(ttr1), sum(ttr2), sum(ttr3), sum(ttr4), sum(ttr5), sum(paid_late)
  FROM rollup_failures GROUP BY bucket / 96, currency;

CREATE TRIGGER rollup_day_insert AFTER INSERT ON rollup_failures BEGIN
  INSERT INTO rollup_failures_day (day, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late)
    VALUES (NEW.bucket / 96, NEW.currency, NEW.cases, NEW.open_cases, NEW.at_risk_cents, NEW.recovered, NEW.recovered_net_cents, NEW.lost, NEW.lost_cents, NEW.cancelled, NEW.click_through, NEW.incentive_days, NEW.incentive_cases, NEW.att0, NEW.att1, NEW.att2, NEW.att3, NEW.att4, NEW.att5, NEW.ch0, NEW.ch1, NEW.ch2, NEW.ch3, NEW.ttr0, NEW.ttr1, NEW.ttr2, NEW.ttr3, NEW.ttr4, NEW.ttr5, NEW.paid_late)
    ON CONFLICT (day, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5, paid_late = paid_late + excluded.paid_late;
END;

-- The case triggers add to a bucket in place: one upsert of the difference.
CREATE TRIGGER rollup_day_update AFTER UPDATE ON rollup_failures
WHEN NEW.bucket / 96 = OLD.bucket / 96 AND NEW.currency = OLD.currency
BEGIN
  INSERT INTO rollup_failures_day (day, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late)
    VALUES (NEW.bucket / 96, NEW.currency, NEW.cases - OLD.cases, NEW.open_cases - OLD.open_cases, NEW.at_risk_cents - OLD.at_risk_cents, NEW.recovered - OLD.recovered, NEW.recovered_net_cents - OLD.recovered_net_cents, NEW.lost - OLD.lost, NEW.lost_cents - OLD.lost_cents, NEW.cancelled - OLD.cancelled, NEW.click_through - OLD.click_through, NEW.incentive_days - OLD.incentive_days, NEW.incentive_cases - OLD.incentive_cases, NEW.att0 - OLD.att0, NEW.att1 - OLD.att1, NEW.att2 - OLD.att2, NEW.att3 - OLD.att3, NEW.att4 - OLD.att4, NEW.att5 - OLD.att5, NEW.ch0 - OLD.ch0, NEW.ch1 - OLD.ch1, NEW.ch2 - OLD.ch2, NEW.ch3 - OLD.ch3, NEW.ttr0 - OLD.ttr0, NEW.ttr1 - OLD.ttr1, NEW.ttr2 - OLD.ttr2, NEW.ttr3 - OLD.ttr3, NEW.ttr4 - OLD.ttr4, NEW.ttr5 - OLD.ttr5, NEW.paid_late - OLD.paid_late)
    ON CONFLICT (day, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5, paid_late = paid_late + excluded.paid_late;
END;

-- A bucket moved to another day or currency (only by hand): out of the old day, into the new.
CREATE TRIGGER rollup_day_move AFTER UPDATE ON rollup_failures
WHEN NEW.bucket / 96 != OLD.bucket / 96 OR NEW.currency != OLD.currency
BEGIN
  UPDATE rollup_failures_day SET cases = cases - OLD.cases, open_cases = open_cases - OLD.open_cases, at_risk_cents = at_risk_cents - OLD.at_risk_cents, recovered = recovered - OLD.recovered, recovered_net_cents = recovered_net_cents - OLD.recovered_net_cents, lost = lost - OLD.lost, lost_cents = lost_cents - OLD.lost_cents, cancelled = cancelled - OLD.cancelled, click_through = click_through - OLD.click_through, incentive_days = incentive_days - OLD.incentive_days, incentive_cases = incentive_cases - OLD.incentive_cases, att0 = att0 - OLD.att0, att1 = att1 - OLD.att1, att2 = att2 - OLD.att2, att3 = att3 - OLD.att3, att4 = att4 - OLD.att4, att5 = att5 - OLD.att5, ch0 = ch0 - OLD.ch0, ch1 = ch1 - OLD.ch1, ch2 = ch2 - OLD.ch2, ch3 = ch3 - OLD.ch3, ttr0 = ttr0 - OLD.ttr0, ttr1 = ttr1 - OLD.ttr1, ttr2 = ttr2 - OLD.ttr2, ttr3 = ttr3 - OLD.ttr3, ttr4 = ttr4 - OLD.ttr4, ttr5 = ttr5 - OLD.ttr5, paid_late = paid_late - OLD.paid_late
    WHERE day = OLD.bucket / 96 AND currency = OLD.currency;
  INSERT INTO rollup_failures_day (day, currency, cases, open_cases, at_risk_cents, recovered, recovered_net_cents, lost, lost_cents, cancelled, click_through, incentive_days, incentive_cases, att0, att1, att2, att3, att4, att5, ch0, ch1, ch2, ch3, ttr0, ttr1, ttr2, ttr3, ttr4, ttr5, paid_late)
    VALUES (NEW.bucket / 96, NEW.currency, NEW.cases, NEW.open_cases, NEW.at_risk_cents, NEW.recovered, NEW.recovered_net_cents, NEW.lost, NEW.lost_cents, NEW.cancelled, NEW.click_through, NEW.incentive_days, NEW.incentive_cases, NEW.att0, NEW.att1, NEW.att2, NEW.att3, NEW.att4, NEW.att5, NEW.ch0, NEW.ch1, NEW.ch2, NEW.ch3, NEW.ttr0, NEW.ttr1, NEW.ttr2, NEW.ttr3, NEW.ttr4, NEW.ttr5, NEW.paid_late)
    ON CONFLICT (day, currency) DO UPDATE SET cases = cases + excluded.cases, open_cases = open_cases + excluded.open_cases, at_risk_cents = at_risk_cents + excluded.at_risk_cents, recovered = recovered + excluded.recovered, recovered_net_cents = recovered_net_cents + excluded.recovered_net_cents, lost = lost + excluded.lost, lost_cents = lost_cents + excluded.lost_cents, cancelled = cancelled + excluded.cancelled, click_through = click_through + excluded.click_through, incentive_days = incentive_days + excluded.incentive_days, incentive_cases = incentive_cases + excluded.incentive_cases, att0 = att0 + excluded.att0, att1 = att1 + excluded.att1, att2 = att2 + excluded.att2, att3 = att3 + excluded.att3, att4 = att4 + excluded.att4, att5 = att5 + excluded.att5, ch0 = ch0 + excluded.ch0, ch1 = ch1 + excluded.ch1, ch2 = ch2 + excluded.ch2, ch3 = ch3 + excluded.ch3, ttr0 = ttr0 + excluded.ttr0, ttr1 = ttr1 + excluded.ttr1, ttr2 = ttr2 + excluded.ttr2, ttr3 = ttr3 + excluded.ttr3, ttr4 = ttr4 + excluded.ttr4, ttr5 = ttr5 + excluded.ttr5, paid_late = paid_late + excluded.paid_late;
END;

-- A bucket deleted takes its figures out of its day (a rebuild empties the days first: then there
-- is no day left to take them from).
CREATE TRIGGER rollup_day_delete AFTER DELETE ON rollup_failures BEGIN
  UPDATE rollup_failures_day SET cases = cases - OLD.cases, open_cases = open_cases - OLD.open_cases, at_risk_cents = at_risk_cents - OLD.at_risk_cents, recovered = recovered - OLD.recovered, recovered_net_cents = recovered_net_cents - OLD.recovered_net_cents, lost = lost - OLD.lost, lost_cents = lost_cents - OLD.lost_cents, cancelled = cancelled - OLD.cancelled, click_through = click_through - OLD.click_through, incentive_days = incentive_days - OLD.incentive_days, incentive_cases = incentive_cases - OLD.incentive_cases, att0 = att0 - OLD.att0, att1 = att1 - OLD.att1, att2 = att2 - OLD.att2, att3 = att3 - OLD.att3, att4 = att4 - OLD.att4, att5 = att5 - OLD.att5, ch0 = ch0 - OLD.ch0, ch1 = ch1 - OLD.ch1, ch2 = ch2 - OLD.ch2, ch3 = ch3 - OLD.ch3, ttr0 = ttr0 - OLD.ttr0, ttr1 = ttr1 - OLD.ttr1, ttr2 = ttr2 - OLD.ttr2, ttr3 = ttr3 - OLD.ttr3, ttr4 = ttr4 - OLD.ttr4, ttr5 = ttr5 - OLD.ttr5, paid_late = paid_late - OLD.paid_late
    WHERE day = OLD.bucket / 96 AND currency = OLD.currency;
END;
