-- Back to schema 10: the overview sums 15-minute buckets only.
DROP TRIGGER rollup_day_insert;
DROP TRIGGER rollup_day_update;
DROP TRIGGER rollup_day_move;
DROP TRIGGER rollup_day_delete;
DROP TABLE rollup_failures_day;
