-- Back to round(major * 100) for every currency (see the up migration).
UPDATE events SET amount_cents = amount_cents * 100
  WHERE amount_cents IS NOT NULL AND currency IN ('bif', 'clp', 'djf', 'gnf', 'isk', 'jpy', 'kmf', 'krw', 'pyg', 'rwf', 'ugx', 'uyi', 'vnd', 'vuv', 'xaf', 'xof', 'xpf');
UPDATE cases SET amount_due_cents = amount_due_cents * 100,
  recovered_cents = recovered_cents * 100,
  refunded_cents = refunded_cents * 100
  WHERE currency IN ('bif', 'clp', 'djf', 'gnf', 'isk', 'jpy', 'kmf', 'krw', 'pyg', 'rwf', 'ugx', 'uyi', 'vnd', 'vuv', 'xaf', 'xof', 'xpf');
UPDATE events SET amount_cents = CAST(round(amount_cents / 10.0) AS INTEGER)
  WHERE amount_cents IS NOT NULL AND currency IN ('bhd', 'iqd', 'jod', 'kwd', 'lyd', 'omr', 'tnd');
UPDATE cases SET amount_due_cents = CAST(round(amount_due_cents / 10.0) AS INTEGER),
  recovered_cents = CAST(round(recovered_cents / 10.0) AS INTEGER),
  refunded_cents = CAST(round(refunded_cents / 10.0) AS INTEGER)
  WHERE currency IN ('bhd', 'iqd', 'jod', 'kwd', 'lyd', 'omr', 'tnd');
UPDATE events SET amount_cents = CAST(round(amount_cents / 100.0) AS INTEGER)
  WHERE amount_cents IS NOT NULL AND currency IN ('clf', 'uyw');
UPDATE cases SET amount_due_cents = CAST(round(amount_due_cents / 100.0) AS INTEGER),
  recovered_cents = CAST(round(recovered_cents / 100.0) AS INTEGER),
  refunded_cents = CAST(round(refunded_cents / 100.0) AS INTEGER)
  WHERE currency IN ('clf', 'uyw');
