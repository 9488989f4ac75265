#pragma once
// The preset dictionary of stored webhook payloads (format "d", store/events.cpp): the skeleton of
// Whop's v1 membership and payment bodies (their keys, structure and common values, ids and
// personal fields blanked), from the fixtures in tests/fixtures/whop. Deflate finds most of a
// body in it, so a 2 KB body stores in about a third of what plain deflate needs.
// NEVER CHANGE IT: every payload stored as "d" is inflated with exactly these bytes. A better
// dictionary needs a new format byte and this one kept for the rows that use it.
#include <string_view>

namespace cs::store {

inline constexpr std::string_view kPayloadDictionaryV1 =
    R"dict({"id":"msg_","api_version":"v1","timestamp":"2026-01-01T00:00:00.000Z","type":"membership.)dict"
    R"dict(activated","data":{"id":"mem_","status":"active","created_at":"2026-01-01T00:00:00.000Z",")dict"
    R"dict(updated_at":"2026-01-01T00:00:00.000Z","joined_at":"2026-01-01T00:00:00.000Z","renewal_per)dict"
    R"dict(iod_start":"2026-01-01T00:00:00.000Z","renewal_period_end":"2026-01-01T00:00:00.000Z","can)dict"
    R"dict(cel_at_period_end":false,"cancel_option":null,"cancellation_reason":null,"canceled_at":nul)dict"
    R"dict(l,"currency":"usd","manage_url":"https://whop.com/billing/manage/","member":{"id":"mber_"})dict"
    R"dict(,"user":{"id":"user_","username":"","name":"","email":""},"company":{"id":"biz_","title":")dict"
    R"dict("},"plan":{"id":"plan_","metadata":{}},"product":{"id":"prod_","title":"","metadata":{}},")dict"
    R"dict(promo_code":null,"license_key":null,"metadata":{},"payment_collection_paused":false,"check)dict"
    R"dict(out_configuration_id":null,"custom_field_responses":[]},"company_id":"biz_"}{"id":"msg_",")dict"
    R"dict(api_version":"v1","timestamp":"2026-01-01T00:00:00.000Z","type":"payment.succeeded","data")dict"
    R"dict(:{"id":"pay_","status":"paid","substatus":"succeeded","created_at":"2026-01-01T00:00:00.00)dict"
    R"dict(0Z","updated_at":"2026-01-01T00:00:00.000Z","paid_at":"2026-01-01T00:00:00.000Z","last_pay)dict"
    R"dict(ment_attempt":"2026-01-01T00:00:00.000Z","next_payment_attempt":null,"dispute_alerted_at":)dict"
    R"dict(null,"refunded_at":null,"currency":"usd","settlement_currency":"usd","total":29.99,"subtot)dict"
    R"dict(al":29.99,"usd_total":29.99,"settlement_amount":29.99,"amount_after_fees":27.49,"refunded_)dict"
    R"dict(amount":null,"tax_amount":0,"tax_refunded_amount":null,"tax_behavior":"","settlement_excha)dict"
    R"dict(nge_rate":null,"billing_reason":"subscription_cycle","failure_message":null,"payments_fail)dict"
    R"dict(ed":0,"retryable":false,"voidable":false,"refundable":true,"auto_refunded":false,"three_ds)dict"
    R"dict(_verified":false,"card_brand":"visa","card_last4":"","payment_method_type":"card","payment)dict"
    R"dict(_method":{"id":"pmt_","created_at":"2026-01-01T00:00:00.000Z","payment_method_type":"card")dict"
    R"dict(,"card":{"brand":"","last4":"","exp_month":12,"exp_year":27}},"checkout_configuration_id":)dict"
    R"dict(null,"financing_installments_count":null,"financing_transactions":[],"risk_score":null,"ri)dict"
    R"dict(sk_signals":null,"application_fee":null,"billing_address":null,"shipping_address":null,"me)dict"
    R"dict(tadata":{},"company":{"id":"biz_","route":"","title":""},"member":{"id":"mber_","phone":nu)dict"
    R"dict(ll},"membership":{"id":"mem_","status":"active","phone_number":null},"plan":{"id":"plan_",)dict"
    R"dict("internal_notes":null,"metadata":{}},"product":{"id":"prod_","route":"","title":"","metada)dict"
    R"dict(ta":{}},"promo_code":null,"user":{"id":"user_","email":"","name":"","username":""},"disput)dict"
    R"dict(es":[],"refunds":[],"resolutions":[]},"company_id":"biz_"}{"id":"msg_","api_version":"v1",)dict"
    R"dict("timestamp":"2026-01-01T00:00:00.000Z","type":"payment.failed","data":{"id":"pay_","status)dict"
    R"dict(":"open","substatus":"failed","created_at":"2026-01-01T00:00:00.000Z","updated_at":"2026-0)dict"
    R"dict(1-01T00:00:00.000Z","paid_at":null,"last_payment_attempt":"2026-01-01T00:00:00.000Z","next)dict"
    R"dict(_payment_attempt":"2026-01-01T00:00:00.000Z","dispute_alerted_at":null,"refunded_at":null,)dict"
    R"dict("currency":"usd","settlement_currency":"usd","total":29.99,"subtotal":29.99,"usd_total":29)dict"
    R"dict(.99,"settlement_amount":29.99,"amount_after_fees":27.49,"refunded_amount":null,"tax_amount)dict"
    R"dict(":0,"tax_refunded_amount":null,"tax_behavior":"","settlement_exchange_rate":null,"billing_)dict"
    R"dict(reason":"subscription_cycle","failure_message":"","payments_failed":1,"retryable":true,"vo)dict"
    R"dict(idable":true,"refundable":false,"auto_refunded":false,"three_ds_verified":false,"card_bran)dict"
    R"dict(d":"visa","card_last4":"","payment_method_type":"card","payment_method":{"id":"pmt_","crea)dict"
    R"dict(ted_at":"2026-01-01T00:00:00.000Z","payment_method_type":"card","card":{"brand":"","last4")dict"
    R"dict(:"","exp_month":12,"exp_year":27}},"checkout_configuration_id":null,"financing_installment)dict"
    R"dict(s_count":null,"financing_transactions":[],"risk_score":null,"risk_signals":null,"applicati)dict"
    R"dict(on_fee":null,"billing_address":null,"shipping_address":null,"metadata":{},"company":{"id":)dict"
    R"dict("biz_","route":"","title":""},"member":{"id":"mber_","phone":null},"membership":{"id":"mem)dict"
    R"dict(_","status":"past_due","phone_number":null},"plan":{"id":"plan_","internal_notes":null,"me)dict"
    R"dict(tadata":{}},"product":{"id":"prod_","route":"","title":"","metadata":{}},"promo_code":null)dict"
    R"dict(,"user":{"id":"user_","email":"","name":"","username":""},"disputes":[],"refunds":[],"reso)dict"
    R"dict(lutions":[]},"company_id":"biz_"})dict";

}  // namespace cs::store
