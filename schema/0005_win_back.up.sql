-- Win-back across memberships: a member whom Whop cancelled may buy the same product again and
-- get a new membership id. Events now keep the product they are about, so the payment of the new
-- membership can be matched to the old membership's case by (user, product). Events stored
-- before this version have no product ('') and are never matched.
ALTER TABLE events ADD COLUMN product_id TEXT NOT NULL DEFAULT '';
CREATE INDEX events_user_product ON events (user_id, product_id, event_time)
  WHERE user_id != '' AND product_id != '';
-- A refund or dispute of a win-back payment finds the case that payment recovered.
CREATE INDEX cases_recovery_payment ON cases (recovery_payment_id) WHERE recovery_payment_id != '';
