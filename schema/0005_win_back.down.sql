DROP INDEX cases_recovery_payment;
DROP INDEX events_user_product;
ALTER TABLE events DROP COLUMN product_id;
