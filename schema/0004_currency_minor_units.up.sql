-- Amounts become each currency's ISO 4217 minor units (src/domain/currency.cpp). Before this
-- version every amount was stored as round(major * 100), whatever the currency: JPY 1000 as
-- 100000, KWD 12.345 as 1235. Rows stored before this migration are converted once:
--   zero-decimal currencies: divided by 100 (exact: Whop amounts in them are whole units);
--   three-decimal currencies: multiplied by 10 (the third decimal was rounded away at ingest and
--   cannot be recovered here; the amount is off by at most half a hundredth of a unit);
--   four-decimal currencies: multiplied by 100 (the same, two digits).
-- Every other currency (two decimals, and unknown codes, still read with two) is unchanged.
UPDATE events SET amount_cents = CAST(round(amount_cents / 100.0) AS INTEGER)
  WHERE amount_cents IS NOT NULL AND currency IN ('bif', 'clp', 'djf', 'gnf', 'isk', 'jpy', 'kmf', 'krw', 'pyg', 'rwf', 'ugx', 'uyi', 'vnd', 'vuv', 'xaf', 'xof', 'xpf');
UPDATE cases SET amount_due_cents = CAST(round(amount_due_cents / 100.0) AS INTEGER),
  recovered_cents = CAST(round(recovered_cents / 100.0) AS INTEGER),
  refunded_cents = CAST(round(refunded_cents / 100.0) AS INTEGER)
  WHERE currency IN ('bif', 'clp', 'djf', 'gnf', 'isk', 'jpy', 'kmf', 'krw', 'pyg', 'rwf', 'ugx', 'uyi', 'vnd', 'vuv', 'xaf', 'xof', 'xpf');
UPDATE events SET amount_cents = amount_cents * 10
  WHERE amount_cents IS NOT NULL AND currency IN ('bhd', 'iqd', 'jod', 'kwd', 'lyd', 'omr', 'tnd');
UPDATE cases SET amount_due_cents = amount_due_cents * 10,
  recovered_cents = recovered_cents * 10,
  refunded_cents = refunded_cents * 10
  WHERE currency IN ('bhd', 'iqd', 'jod', 'kwd', 'lyd', 'omr', 'tnd');
UPDATE events SET amount_cents = amount_cents * 100
  WHERE amount_cents IS NOT NULL AND currency IN ('clf', 'uyw');
UPDATE cases SET amount_due_cents = amount_due_cents * 100,
  recovered_cents = recovered_cents * 100,
  refunded_cents = refunded_cents * 100
  WHERE currency IN ('clf', 'uyw');
