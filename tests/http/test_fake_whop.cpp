// Tests of the fake Whop itself (tests/support/fake_whop.h): what it signs and sends, and how its
// REST side answers, with faults. Webhooks are checked by a tiny receiver that verifies with the
// project's own verifier (cs::whop::verify).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <httplib.h>

#include "domain/time.h"
#include "support/fake_whop.h"
#include "whop/signature.h"

using cs::test::Call;
using cs::test::DeliveryOptions;
using cs::test::FakeWhop;
using cs::test::Fault;
using cs::whop::VerifyOutcome;
using nlohmann::json;

namespace {

const std::string kSecret = "ws_28c2a0ba7b871781f3e69297d36443e0748ba95ca48b627483daf94564bd613a";
const std::string kKey = "test_api_key";

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Received {
  cs::whop::SignatureHeaders headers;
  std::string content_type;
  std::string body;
  int64_t received_s = 0;
  std::chrono::steady_clock::time_point at;
};

// A webhook endpoint on an ephemeral port; `status_for(n)` answers the n-th request (1-based).
class Receiver {
 public:
  explicit Receiver(std::function<int(int)> status_for = [](int) { return 200; })
      : status_for_(std::move(status_for)) {
    svr_.Post("/webhooks/whop", [this](const httplib::Request& req, httplib::Response& res) {
      Received r;
      r.headers.webhook_id = req.get_header_value("webhook-id");
      r.headers.webhook_timestamp = req.get_header_value("webhook-timestamp");
      r.headers.webhook_signature = req.get_header_value("webhook-signature");
      r.headers.legacy_signature = req.get_header_value("x-whop-signature");
      r.content_type = req.get_header_value("Content-Type");
      r.body = req.body;
      r.received_s = now_s();
      r.at = std::chrono::steady_clock::now();
      int n;
      {
        std::lock_guard lk(mu_);
        got_.push_back(r);
        n = static_cast<int>(got_.size());
      }
      res.status = status_for_(n);
      res.set_content("{}", "application/json");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    svr_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/webhooks/whop"; }
  std::vector<Received> received() const {
    std::lock_guard lk(mu_);
    return got_;
  }

 private:
  std::function<int(int)> status_for_;
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<Received> got_;
};

cs::whop::Verification check(const Received& r, int64_t now,
                             const std::vector<std::string>& secrets = {kSecret}) {
  return cs::whop::verify(secrets, r.headers, r.body, now);
}

httplib::Headers auth(const std::string& key = kKey) {
  return {{"Authorization", "Bearer " + key}};
}

json membership_json(const std::string& id, const std::string& status = "past_due",
                     const std::string& company = "biz_Qw12Er34Ty56Ui") {
  return json{{"id", id},
              {"status", status},
              {"renewal_period_end", "2026-08-01T12:00:00.000Z"},
              {"cancel_at_period_end", false},
              {"canceled_at", nullptr},
              {"manage_url", "https://whop.com/billing/manage/" + id},
              {"user", {{"id", "user_1"}}},
              {"company", {{"id", company}}}};
}

json payment_json(const std::string& id, const std::string& updated_at,
                  const std::string& company = "biz_Qw12Er34Ty56Ui") {
  return json{
      {"id", id}, {"status", "open"}, {"updated_at", updated_at}, {"company", {{"id", company}}}};
}

int64_t renewal_end_ms(const FakeWhop& fake, const std::string& id) {
  return *cs::domain::parse_iso8601_ms(
      fake.membership(id).value()["renewal_period_end"].get<std::string>());
}

constexpr int64_t kDay = 24LL * 3600 * 1000;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Webhooks

TEST_CASE("fake whop: a good delivery verifies with the project's verifier") {
  Receiver rx;
  FakeWhop fake(kSecret);
  fake.set_webhook_target(rx.url());
  json ev = FakeWhop::payment_event("payment.failed", {});
  auto res = fake.deliver(ev);
  CHECK(res.status == 200);
  CHECK(res.attempts == 1);
  CHECK(res.webhook_id == ev["id"].get<std::string>());
  auto got = rx.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].body == ev.dump());
  CHECK(got[0].content_type == "application/json");
  CHECK(got[0].headers.webhook_id == res.webhook_id);
  CHECK(got[0].headers.legacy_signature.empty());
  CHECK(got[0].headers.webhook_signature.rfind("v1,", 0) == 0);
  auto v = check(got[0], got[0].received_s);
  CHECK(v.outcome == VerifyOutcome::Ok);
  CHECK(v.scheme == "v1");
  CHECK(std::abs(v.timestamp - got[0].received_s) <= 2);
  // And with another secret it does not.
  CHECK(check(got[0], got[0].received_s, {"ws_other"}).outcome == VerifyOutcome::BadSignature);
}

TEST_CASE("fake whop: an event without id gets a fresh msg_ id; deliver_raw sends exact bytes") {
  Receiver rx;
  FakeWhop fake(kSecret);
  fake.set_webhook_target(rx.url());
  json ev = FakeWhop::membership_event("membership.activated", "mem_1", "user_1", 0);
  ev.erase("id");
  auto res = fake.deliver(ev);
  CHECK(res.webhook_id.size() == 28);
  CHECK(res.webhook_id.rfind("msg_", 0) == 0);
  const std::string raw = "{\"a\": 1,  \"b\":[ ]}\n";
  auto res2 = fake.deliver_raw(raw, "msg_AAAAAAAAAAAAAAAAAAAAAAAA");
  CHECK(res2.webhook_id == "msg_AAAAAAAAAAAAAAAAAAAAAAAA");
  auto got = rx.received();
  REQUIRE(got.size() == 2);
  CHECK(json::parse(got[0].body)["id"] == res.webhook_id);
  CHECK(got[1].body == raw);
  CHECK(got[1].headers.webhook_id == "msg_AAAAAAAAAAAAAAAAAAAAAAAA");
  CHECK(check(got[1], got[1].received_s).outcome == VerifyOutcome::Ok);
}

TEST_CASE("fake whop: bad, omitted and overridden signatures") {
  Receiver rx;
  FakeWhop fake(kSecret);
  fake.set_webhook_target(rx.url());
  json ev = FakeWhop::payment_event("payment.succeeded", {});

  DeliveryOptions bad;
  bad.bad_signature = true;
  fake.deliver(ev, bad);
  DeliveryOptions omit;
  omit.omit_signature = true;
  fake.deliver(ev, omit);
  DeliveryOptions other;
  other.secret_override = "ws_rotated_secret";
  fake.deliver(ev, other);

  auto got = rx.received();
  REQUIRE(got.size() == 3);
  CHECK(check(got[0], got[0].received_s).outcome == VerifyOutcome::BadSignature);
  CHECK(got[1].headers.webhook_signature.empty());
  CHECK(!got[1].headers.webhook_id.empty());
  CHECK(check(got[1], got[1].received_s).outcome == VerifyOutcome::MissingHeaders);
  CHECK(check(got[2], got[2].received_s).outcome == VerifyOutcome::BadSignature);
  CHECK(check(got[2], got[2].received_s, {kSecret, "ws_rotated_secret"}).outcome ==
        VerifyOutcome::Ok);
}

TEST_CASE("fake whop: stale timestamps, 301 s either way") {
  Receiver rx;
  FakeWhop fake(kSecret);
  fake.set_webhook_target(rx.url());
  json ev = FakeWhop::payment_event("payment.failed", {});
  DeliveryOptions past;
  past.timestamp_offset_s = -301;
  DeliveryOptions future;
  future.timestamp_offset_s = 301;
  fake.deliver(ev, past);
  const int64_t before_future = now_s();
  fake.deliver(ev, future);
  auto got = rx.received();
  REQUIRE(got.size() == 2);
  // Signed correctly, just at the wrong time.
  for (const auto& r : got)
    CHECK(check(r, std::stoll(r.headers.webhook_timestamp)).outcome == VerifyOutcome::Ok);
  // -301: at least 301 s old whenever it is received.
  CHECK(check(got[0], got[0].received_s).outcome == VerifyOutcome::StaleTimestamp);
  // +301: at least 301 s ahead of any moment before it was sent.
  CHECK(std::stoll(got[1].headers.webhook_timestamp) - got[1].received_s >= 300);
  CHECK(check(got[1], before_future).outcome == VerifyOutcome::StaleTimestamp);
}

TEST_CASE("fake whop: legacy x-whop-signature") {
  Receiver rx;
  FakeWhop fake(kSecret);
  fake.set_webhook_target(rx.url());
  DeliveryOptions legacy;
  legacy.legacy = true;
  auto res = fake.deliver_raw("{\"action\":\"payment.failed\",\"api_version\":\"v5\",\"data\":{}}",
                              FakeWhop::new_webhook_id(), legacy);
  CHECK(res.status == 200);
  auto got = rx.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].headers.webhook_id.empty());
  CHECK(got[0].headers.webhook_timestamp.empty());
  CHECK(got[0].headers.webhook_signature.empty());
  CHECK(got[0].headers.legacy_signature.rfind("t=", 0) == 0);
  auto v = check(got[0], got[0].received_s);
  CHECK(v.outcome == VerifyOutcome::Ok);
  CHECK(v.scheme == "legacy");
}

TEST_CASE("fake whop: extra signature entries come first, space separated") {
  Receiver rx;
  FakeWhop fake(kSecret);
  fake.set_webhook_target(rx.url());
  DeliveryOptions opts;
  opts.extra_signature_entries = {"v1,AAAA", "v2,xyz"};
  fake.deliver(FakeWhop::payment_event("payment.failed", {}), opts);
  auto got = rx.received();
  REQUIRE(got.size() == 1);
  const std::string& sig = got[0].headers.webhook_signature;
  CHECK(sig.rfind("v1,AAAA v2,xyz v1,", 0) == 0);
  CHECK(sig.find(' ', std::string("v1,AAAA v2,xyz ").size()) == std::string::npos);
  CHECK(check(got[0], got[0].received_s).outcome == VerifyOutcome::Ok);
}

TEST_CASE("fake whop: retries follow Whop's schedule, scaled, with the same webhook-id") {
  SUBCASE("500, 500, then 200: three attempts") {
    Receiver rx([](int n) { return n <= 2 ? 500 : 200; });
    FakeWhop fake(kSecret);  // retry_scale 0.001: 10, 20, 40 ms
    fake.set_webhook_target(rx.url());
    auto res = fake.deliver(FakeWhop::payment_event("payment.failed", {}));
    CHECK(res.attempts == 3);
    CHECK(res.status == 200);
    auto got = rx.received();
    REQUIRE(got.size() == 3);
    CHECK(got[1].headers.webhook_id == got[0].headers.webhook_id);
    CHECK(got[2].headers.webhook_id == got[0].headers.webhook_id);
    for (const auto& r : got) CHECK(check(r, r.received_s).outcome == VerifyOutcome::Ok);
    CHECK(got[1].at - got[0].at >= std::chrono::milliseconds(10));
    CHECK(got[2].at - got[1].at >= std::chrono::milliseconds(20));
  }
  SUBCASE("always failing: four attempts in all, then give up") {
    Receiver rx([](int) { return 503; });
    FakeWhop fake(kSecret);
    fake.set_webhook_target(rx.url());
    auto res = fake.deliver(FakeWhop::payment_event("payment.failed", {}));
    CHECK(res.attempts == 4);
    CHECK(res.status == 503);
    CHECK(rx.received().size() == 4);
  }
  SUBCASE("retry off: one attempt") {
    Receiver rx([](int) { return 500; });
    FakeWhop fake(kSecret);
    fake.set_webhook_target(rx.url());
    DeliveryOptions opts;
    opts.retry = false;
    auto res = fake.deliver(FakeWhop::payment_event("payment.failed", {}), opts);
    CHECK(res.attempts == 1);
    CHECK(res.status == 500);
  }
  SUBCASE("nobody listening: status 0 after four attempts") {
    // A port bound and closed again without listening: connections are refused.
    int dead_port = 0;
    {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      REQUIRE(fd >= 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
      REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
      dead_port = ntohs(addr.sin_port);
      ::close(fd);
    }
    FakeWhop fake(kSecret);
    fake.set_webhook_target("http://127.0.0.1:" + std::to_string(dead_port) + "/webhooks/whop");
    auto res = fake.deliver(FakeWhop::payment_event("payment.failed", {}));
    CHECK(res.attempts == 4);
    CHECK(res.status == 0);
  }
}

TEST_CASE("fake whop: deliver_shuffled duplicates and reorders deterministically") {
  std::vector<json> events = {
      FakeWhop::payment_event("payment.failed", {}),
      FakeWhop::payment_event("payment.succeeded", {}),
      FakeWhop::membership_event("membership.activated", "mem_Zx12Cv34Bn56Ml", "user_Qa12Ws34Ed56R",
                                 0)};
  auto run = [&](uint32_t seed) {
    Receiver rx;
    FakeWhop fake(kSecret);
    fake.set_webhook_target(rx.url());
    auto results = fake.deliver_shuffled(events, seed, 2);
    std::vector<std::string> order;
    for (const auto& r : results) order.push_back(r.webhook_id);
    auto got = rx.received();
    REQUIRE(got.size() == 6);
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].headers.webhook_id == order[i]);
      CHECK(json::parse(got[i].body)["id"] == order[i]);
      CHECK(check(got[i], got[i].received_s).outcome == VerifyOutcome::Ok);
    }
    return order;
  };
  auto a = run(7);
  auto b = run(7);
  CHECK(a == b);
  std::map<std::string, int> counts;
  for (const auto& id : a) ++counts[id];
  CHECK(counts.size() == 3);
  for (const auto& ev : events) CHECK(counts[ev["id"].get<std::string>()] == 2);
  // Some seed among a few gives an order other than the input's.
  bool reordered = false;
  for (uint32_t seed = 1; seed < 6 && !reordered; ++seed) {
    auto o = run(seed);
    std::vector<std::string> in_order;
    for (const auto& ev : events)
      for (int c = 0; c < 2; ++c) in_order.push_back(ev["id"].get<std::string>());
    reordered = o != in_order;
  }
  CHECK(reordered);
}

TEST_CASE("fake whop: event builders are shaped like the v1 fixtures") {
  FakeWhop::PaymentSpec spec;
  spec.time_ms = *cs::domain::parse_iso8601_ms("2026-11-20T23:09:16.752Z");
  json failed = FakeWhop::payment_event("payment.failed", spec);
  CHECK(failed["api_version"] == "v1");
  CHECK(failed["type"] == "payment.failed");
  CHECK(failed["timestamp"] == "2026-11-20T23:09:16.752Z");
  CHECK(failed["company_id"] == "biz_Qw12Er34Ty56Ui");
  CHECK(failed["id"].get<std::string>().size() == 28);
  const json& d = failed["data"];
  CHECK(d["id"] == spec.payment_id);
  CHECK(d["status"] == "open");
  CHECK(d["substatus"] == "failed");
  CHECK(d["last_payment_attempt"] == "2026-11-20T23:09:16.752Z");
  CHECK(d["paid_at"].is_null());
  CHECK(d["total"] == 29.99);
  CHECK(d["currency"] == "usd");
  CHECK(d["failure_message"] == spec.failure_message);
  CHECK(d["membership"]["id"] == spec.membership_id);
  CHECK(d["membership"]["status"] == "past_due");
  CHECK(d["user"] == json{{"id", spec.user_id},
                          {"email", spec.email},
                          {"name", spec.name},
                          {"username", spec.username}});
  CHECK(d["product"]["id"] == "prod_As12Df34Gh56J");
  CHECK(d["product"]["title"] == "Pickaxe Analytics");
  CHECK(d["plan"]["id"] == "plan_Po12Iu34Yt56R");
  CHECK(d["company"]["id"] == "biz_Qw12Er34Ty56Ui");

  json paid = FakeWhop::payment_event("payment.succeeded", spec);
  CHECK(paid["data"]["status"] == "paid");
  CHECK(paid["data"]["paid_at"] == "2026-11-20T23:09:16.752Z");
  CHECK(paid["data"]["membership"]["status"] == "active");
  CHECK(paid["id"] != failed["id"]);

  json deact =
      FakeWhop::membership_event("membership.deactivated", "mem_9", "user_9", spec.time_ms);
  CHECK(deact["type"] == "membership.deactivated");
  CHECK(deact["timestamp"] == "2026-11-20T23:09:16.752Z");
  CHECK(deact["data"]["id"] == "mem_9");
  CHECK(deact["data"]["status"] == "canceled");
  CHECK(deact["data"]["updated_at"] == "2026-11-20T23:09:16.752Z");
  CHECK(deact["data"]["user"]["id"] == "user_9");
  CHECK(deact["data"]["manage_url"] == "https://whop.com/billing/manage/mem_9");
  json cancel = FakeWhop::membership_event("membership.cancel_at_period_end_changed", "mem_9",
                                           "user_9", spec.time_ms);
  CHECK(cancel["data"]["cancel_at_period_end"] == true);
  CHECK(FakeWhop::membership_event("membership.activated", "mem_9", "user_9",
                                   spec.time_ms)["data"]["status"] == "active");
}

// ---------------------------------------------------------------------------------------------
// REST

TEST_CASE("fake whop REST: bearer auth, 404s and reads") {
  FakeWhop fake(kSecret, kKey);
  fake.put_membership(membership_json("mem_1"));
  fake.put_payment(payment_json("pay_1", "2026-11-01T00:00:00.000Z"));
  httplib::Client cli("127.0.0.1", fake.port());
  CHECK(fake.api_base() == "http://127.0.0.1:" + std::to_string(fake.port()) + "/api/v1");

  auto no_auth = cli.Get("/api/v1/memberships/mem_1");
  REQUIRE(no_auth);
  CHECK(no_auth->status == 401);
  CHECK(json::parse(no_auth->body)["error"]["code"] == "unauthorized");
  auto wrong = cli.Get("/api/v1/memberships/mem_1", auth("nope"));
  REQUIRE(wrong);
  CHECK(wrong->status == 401);

  auto ok = cli.Get("/api/v1/memberships/mem_1", auth());
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(json::parse(ok->body) == membership_json("mem_1"));
  auto pay = cli.Get("/api/v1/payments/pay_1", auth());
  REQUIRE(pay);
  CHECK(pay->status == 200);

  for (const char* path :
       {"/api/v1/memberships/mem_nope", "/api/v1/payments/pay_nope", "/api/v1/no_such_route"}) {
    auto r = cli.Get(path, auth());
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(json::parse(r->body)["error"]["code"] == "not_found");
  }
  auto r = cli.Post("/api/v1/memberships/mem_nope/add_free_days", auth(), "{\"free_days\":3}",
                    "application/json");
  REQUIRE(r);
  CHECK(r->status == 404);
  r = cli.Post("/api/v1/payments/pay_nope/retry", auth(), "", "application/json");
  REQUIRE(r);
  CHECK(r->status == 404);
  r = cli.Post("/api/v1/payments/pay_1/retry", auth(), "", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(json::parse(r->body)["id"] == "pay_1");
}

TEST_CASE("fake whop REST: membership list paginates with cursors and filters") {
  FakeWhop fake(kSecret);
  for (int i = 0; i < 7; ++i) fake.put_membership(membership_json("mem_" + std::to_string(i)));
  fake.put_membership(membership_json("mem_active", "active"));
  fake.put_membership(membership_json("mem_other_company", "past_due", "biz_Other"));
  httplib::Client cli("127.0.0.1", fake.port());

  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  for (;;) {
    std::string q =
        "/api/v1/memberships?company_id=biz_Qw12Er34Ty56Ui&statuses%5B%5D=past_due&first=3";
    if (!after.empty()) q += "&after=" + httplib::detail::encode_query_param(after);
    auto r = cli.Get(q, auth());
    REQUIRE(r);
    REQUIRE(r->status == 200);
    json page = json::parse(r->body);
    ++pages;
    for (const auto& m : page["data"]) seen.push_back(m["id"]);
    CHECK(page["data"].size() == (pages < 3 ? 3u : 1u));
    CHECK(page["page_info"]["has_next_page"] == (pages < 3));
    if (!page["page_info"]["has_next_page"].get<bool>()) break;
    after = page["page_info"]["end_cursor"].get<std::string>();
    REQUIRE(pages < 10);
  }
  CHECK(pages == 3);
  CHECK(seen ==
        std::vector<std::string>{"mem_0", "mem_1", "mem_2", "mem_3", "mem_4", "mem_5", "mem_6"});

  // Several statuses in bracket form; no company filter.
  auto r = cli.Get("/api/v1/memberships?statuses[]=past_due&statuses[]=active&first=100", auth());
  REQUIRE(r);
  CHECK(json::parse(r->body)["data"].size() == 9);
  r = cli.Get("/api/v1/memberships?statuses[]=active", auth());
  REQUIRE(r);
  CHECK(json::parse(r->body)["data"].size() == 1);
  r = cli.Get("/api/v1/memberships?first=0", auth());
  REQUIRE(r);
  CHECK(r->status == 400);
  r = cli.Get("/api/v1/memberships?after=%25%25%25", auth());
  REQUIRE(r);
  CHECK(r->status == 400);
}

TEST_CASE("fake whop REST: payments since updated_after, ordered by updated_at then id") {
  FakeWhop fake(kSecret);
  fake.put_payment(payment_json("pay_c", "2026-11-03T00:00:00.000Z"));
  fake.put_payment(payment_json("pay_a", "2026-11-02T00:00:00.000Z"));
  fake.put_payment(payment_json("pay_b", "2026-11-02T00:00:00.000Z"));
  fake.put_payment(payment_json("pay_old", "2026-11-01T00:00:00.000Z"));
  fake.put_payment(payment_json("pay_x", "2026-11-05T00:00:00.000Z", "biz_Other"));
  httplib::Client cli("127.0.0.1", fake.port());
  std::vector<std::string> seen;
  std::string after;
  for (int i = 0; i < 10; ++i) {
    std::string q = "/api/v1/payments?company_id=biz_Qw12Er34Ty56Ui&updated_after=" +
                    httplib::detail::encode_query_param("2026-11-01T00:00:00.000Z") + "&first=2";
    if (!after.empty()) q += "&after=" + httplib::detail::encode_query_param(after);
    auto r = cli.Get(q, auth());
    REQUIRE(r);
    REQUIRE(r->status == 200);
    json page = json::parse(r->body);
    for (const auto& p : page["data"]) seen.push_back(p["id"]);
    if (!page["page_info"]["has_next_page"].get<bool>()) break;
    after = page["page_info"]["end_cursor"].get<std::string>();
  }
  CHECK(seen == std::vector<std::string>{"pay_a", "pay_b", "pay_c"});
  auto r = cli.Get("/api/v1/payments?updated_after=yesterday", auth());
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK_THROWS(fake.put_payment(json{{"id", "pay_no_time"}}));
}

TEST_CASE("fake whop REST: add_free_days is not idempotent") {
  FakeWhop fake(kSecret);
  fake.put_membership(membership_json("mem_1"));
  httplib::Client cli("127.0.0.1", fake.port());
  const int64_t end0 = renewal_end_ms(fake, "mem_1");
  for (int i = 1; i <= 2; ++i) {
    auto r = cli.Post("/api/v1/memberships/mem_1/add_free_days", auth(), "{\"free_days\":3}",
                      "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    json m = json::parse(r->body);
    CHECK(m["id"] == "mem_1");
    CHECK(*cs::domain::parse_iso8601_ms(m["renewal_period_end"].get<std::string>()) ==
          end0 + i * 3 * kDay);
  }
  CHECK(renewal_end_ms(fake, "mem_1") == end0 + 6 * kDay);
  CHECK(fake.free_day_grants("mem_1") == std::vector<int>{3, 3});
  CHECK(fake.free_day_grants("mem_none").empty());
  auto calls = fake.calls("POST", "/api/v1/memberships/mem_1/add_free_days");
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].body == "{\"free_days\":3}");
  CHECK(calls[0].status == 200);
}

TEST_CASE("fake whop REST: validation errors are 400 invalid_params") {
  FakeWhop fake(kSecret);
  fake.put_membership(membership_json("mem_1"));
  httplib::Client cli("127.0.0.1", fake.port());
  auto post = [&](const std::string& path, const std::string& body) {
    auto r = cli.Post(path, auth(), body, "application/json");
    REQUIRE(r);
    return std::make_pair(r->status, json::parse(r->body, nullptr, false));
  };
  for (const char* body : {"{\"free_days\":0}", "{\"free_days\":1096}", "{\"free_days\":\"3\"}",
                           "{}", "{\"free_days\":2.5}"}) {
    CAPTURE(body);
    auto [status, j] = post("/api/v1/memberships/mem_1/add_free_days", body);
    CHECK(status == 400);
    CHECK(j["error"]["code"] == "invalid_params");
  }
  CHECK(post("/api/v1/memberships/mem_1/add_free_days", "{\"free_days\":1095}").first == 200);
  CHECK(post("/api/v1/memberships/mem_1/add_free_days", "{not json").first == 400);
  CHECK(post("/api/v1/memberships/mem_1/cancel", "{\"cancellation_mode\":\"later\"}").first == 400);
  CHECK(fake.free_day_grants("mem_1") == std::vector<int>{1095});

  const std::string good =
      R"({"experience_id":"exp_1","user_ids":["user_1"],"title":"t","content":"c"})";
  auto [st, j] = post("/api/v1/notifications", good);
  CHECK(st == 200);
  CHECK(j == json{{"success", true}});
  CHECK(post("/api/v1/notifications", R"({"experience_id":"biz_1","user_ids":["user_1"]})").first ==
        400);
  CHECK(post("/api/v1/notifications", R"({"experience_id":"exp_1","user_ids":[]})").first == 400);
  CHECK(post("/api/v1/notifications", R"({"user_ids":["user_1"]})").first == 400);
  CHECK(post("/api/v1/notifications", "[1,2]").first == 400);
}

TEST_CASE("fake whop REST: cancel, uncancel, DM channels and messages") {
  FakeWhop fake(kSecret);
  fake.put_membership(membership_json("mem_1", "active"));
  fake.put_membership(membership_json("mem_2", "active"));
  httplib::Client cli("127.0.0.1", fake.port());
  auto post = [&](const std::string& path, const std::string& body) {
    auto r = cli.Post(path, auth(), body, "application/json");
    REQUIRE(r);
    return std::make_pair(r->status, json::parse(r->body));
  };
  auto [s1, m1] =
      post("/api/v1/memberships/mem_1/cancel", R"({"cancellation_mode":"at_period_end"})");
  CHECK(s1 == 200);
  CHECK(m1["cancel_at_period_end"] == true);
  CHECK(m1["status"] == "active");
  auto [s2, m2] = post("/api/v1/memberships/mem_1/uncancel", "");
  CHECK(s2 == 200);
  CHECK(m2["cancel_at_period_end"] == false);
  auto [s3, m3] = post("/api/v1/memberships/mem_2/cancel", R"({"cancellation_mode":"immediate"})");
  CHECK(s3 == 200);
  CHECK(m3["status"] == "canceled");
  CHECK(fake.membership("mem_2").value()["status"] == "canceled");

  auto [c1, ch1] =
      post("/api/v1/dm_channels", R"({"with_user_ids":["user_1","user_2"],"company_id":"biz_1"})");
  CHECK(c1 == 200);
  const std::string channel = ch1["id"].get<std::string>();
  CHECK(channel.rfind("feed_", 0) == 0);
  CHECK(post("/api/v1/dm_channels", R"({"with_user_ids":["user_2","user_1"],"company_id":"biz_1"})")
            .second["id"] == channel);
  CHECK(post("/api/v1/dm_channels", R"({"with_user_ids":["user_3"],"company_id":"biz_1"})")
            .second["id"] != channel);
  CHECK(post("/api/v1/dm_channels", R"({"with_user_ids":[]})").first == 400);

  auto [ms, msg] =
      post("/api/v1/messages", json{{"channel_id", channel}, {"content", "hi"}}.dump());
  CHECK(ms == 200);
  CHECK(msg["id"].get<std::string>().rfind("msg_", 0) == 0);
  auto [ns, nb] = post("/api/v1/messages", R"({"channel_id":"feed_nope","content":"hi"})");
  CHECK(ns == 404);
  CHECK(nb["error"]["code"] == "not_found");
}

TEST_CASE("fake whop REST: call log records method, path, query, body and status") {
  FakeWhop fake(kSecret);
  httplib::Client cli("127.0.0.1", fake.port());
  cli.Get("/api/v1/memberships?first=2&statuses[]=past_due", auth());
  cli.Post("/api/v1/notifications", auth(), "{}", "application/json");
  cli.Get("/api/v1/memberships/mem_x");  // no auth
  auto calls = fake.calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].method == "GET");
  CHECK(calls[0].path == "/api/v1/memberships");
  CHECK(calls[0].query == "first=2&statuses[]=past_due");
  CHECK(calls[0].status == 200);
  CHECK(calls[1].method == "POST");
  CHECK(calls[1].body == "{}");
  CHECK(calls[1].status == 400);
  CHECK(calls[2].status == 401);
  CHECK(fake.calls("GET", "/api/v1/memberships").size() == 2);
  CHECK(fake.calls("GET", "/api/v1/memberships/").size() == 1);
  CHECK(fake.calls("POST", "/api/v1/memberships").empty());
  fake.clear_calls();
  CHECK(fake.calls().empty());
  cli.Get("/api/v1/memberships", auth());
  CHECK(fake.calls().size() == 1);
}

// ---------------------------------------------------------------------------------------------
// Faults

TEST_CASE("fake whop faults: 429 with and without Retry-After, 503, consumed per call") {
  FakeWhop fake(kSecret);
  fake.put_membership(membership_json("mem_1"));
  httplib::Client cli("127.0.0.1", fake.port());
  const std::string path = "/api/v1/memberships/mem_1";

  Fault with;
  with.status = 429;
  with.retry_after_s = 7;
  with.path_prefix = "/api/v1/memberships/";
  fake.inject(with);
  auto r = cli.Get(path, auth());
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(r->get_header_value("Retry-After") == "7");
  json body = json::parse(r->body);
  CHECK(body["error"]["type"] == "rate_limit_exceeded");
  CHECK(body["error"]["message"] == "Try again in 7 seconds.");
  r = cli.Get(path, auth());  // consumed: normal again
  REQUIRE(r);
  CHECK(r->status == 200);

  Fault without;
  without.status = 429;
  fake.inject(without);
  r = cli.Get(path, auth());
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(!r->has_header("Retry-After"));
  CHECK(json::parse(r->body)["error"]["type"] == "rate_limit_exceeded");

  Fault unavailable;
  unavailable.status = 503;
  unavailable.method = "POST";
  unavailable.count = 2;
  fake.inject(unavailable);
  r = cli.Get(path, auth());  // method does not match
  REQUIRE(r);
  CHECK(r->status == 200);
  for (int i = 0; i < 2; ++i) {
    r = cli.Post(path + "/add_free_days", auth(), "{\"free_days\":1}", "application/json");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(json::parse(r->body)["error"]["code"] == "service_unavailable");
  }
  CHECK(fake.free_day_grants("mem_1").empty());  // a plain 5xx has no effect
  r = cli.Post(path + "/add_free_days", auth(), "{\"free_days\":1}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(fake.free_day_grants("mem_1") == std::vector<int>{1});

  // clear_faults drops what is left.
  Fault many;
  many.status = 500;
  many.count = 100;
  fake.inject(many);
  fake.clear_faults();
  r = cli.Get(path, auth());
  REQUIRE(r);
  CHECK(r->status == 200);
  auto calls = fake.calls("GET", path);
  CHECK(calls.front().status == 429);
}

TEST_CASE("fake whop faults: slow answers") {
  FakeWhop fake(kSecret);
  fake.put_membership(membership_json("mem_1"));
  const std::string path = "/api/v1/memberships/mem_1/add_free_days";

  SUBCASE("slow but answered: the effect happens and the answer is normal") {
    httplib::Client cli("127.0.0.1", fake.port());
    Fault slow;
    slow.delay_ms = 300;
    fake.inject(slow);
    auto t0 = std::chrono::steady_clock::now();
    auto r = cli.Post(path, auth(), "{\"free_days\":2}", "application/json");
    auto elapsed = std::chrono::steady_clock::now() - t0;
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(elapsed >= std::chrono::milliseconds(300));
    CHECK(fake.free_day_grants("mem_1") == std::vector<int>{2});
  }
  SUBCASE("client times out, but the effect was applied first") {
    httplib::Client cli("127.0.0.1", fake.port());
    cli.set_read_timeout(std::chrono::milliseconds(300));
    Fault slow;
    slow.delay_ms = 1500;
    slow.apply_effect = true;
    fake.inject(slow);
    const int64_t end0 = renewal_end_ms(fake, "mem_1");
    auto r = cli.Post(path, auth(), "{\"free_days\":2}", "application/json");
    CHECK(!r);
    CHECK(r.error() == httplib::Error::Read);
    CHECK(fake.free_day_grants("mem_1") == std::vector<int>{2});
    CHECK(renewal_end_ms(fake, "mem_1") == end0 + 2 * kDay);
  }
}

TEST_CASE("fake whop faults: dropped connections") {
  FakeWhop fake(kSecret);
  fake.put_membership(membership_json("mem_1"));
  httplib::Client cli("127.0.0.1", fake.port());
  cli.set_read_timeout(std::chrono::seconds(30));  // a drop must not look like a timeout
  const std::string path = "/api/v1/memberships/mem_1/add_free_days";
  const int64_t end0 = renewal_end_ms(fake, "mem_1");

  SUBCASE("without effect") {
    Fault drop;
    drop.drop_connection = true;
    fake.inject(drop);
    auto t0 = std::chrono::steady_clock::now();
    auto r = cli.Post(path, auth(), "{\"free_days\":4}", "application/json");
    CHECK(!r);
    CHECK(r.error() != httplib::Error::Success);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
    CHECK(fake.free_day_grants("mem_1").empty());
    CHECK(renewal_end_ms(fake, "mem_1") == end0);
    auto calls = fake.calls("POST", path);
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].status == 0);
  }
  SUBCASE("with effect: the days were granted although the client saw no answer") {
    Fault drop;
    drop.drop_connection = true;
    drop.apply_effect = true;
    fake.inject(drop);
    auto r = cli.Post(path, auth(), "{\"free_days\":4}", "application/json");
    CHECK(!r);
    CHECK(r.error() != httplib::Error::Success);
    CHECK(fake.free_day_grants("mem_1") == std::vector<int>{4});
    CHECK(renewal_end_ms(fake, "mem_1") == end0 + 4 * kDay);
    // A blind retry grants again: the double grant shows.
    auto again = cli.Post(path, auth(), "{\"free_days\":4}", "application/json");
    REQUIRE(again);
    CHECK(again->status == 200);
    CHECK(fake.free_day_grants("mem_1") == std::vector<int>{4, 4});
  }
  SUBCASE("a GET can be dropped too, and the next call works") {
    Fault drop;
    drop.drop_connection = true;
    drop.method = "GET";
    fake.inject(drop);
    auto r = cli.Get("/api/v1/memberships/mem_1", auth());
    CHECK(!r);
    auto ok = cli.Get("/api/v1/memberships/mem_1", auth());
    REQUIRE(ok);
    CHECK(ok->status == 200);
  }
}

TEST_CASE("fake whop: enforces 600 requests per minute per operation when asked") {
  FakeWhop fake(kSecret);
  fake.put_membership(membership_json("mem_1"));
  fake.put_membership(membership_json("mem_2"));
  httplib::Client cli("127.0.0.1", fake.port());
  cli.set_keep_alive(true);
  fake.enforce_rate_limit(true);
  int ok = 0;
  for (int i = 0; i < 600; ++i) {
    // Two ids, one operation: GET /memberships/{id}.
    auto r = cli.Get(i % 2 ? "/api/v1/memberships/mem_1" : "/api/v1/memberships/mem_2", auth());
    if (r && r->status == 200) ++ok;
  }
  CHECK(ok == 600);
  auto r = cli.Get("/api/v1/memberships/mem_1", auth());
  REQUIRE(r);
  CHECK(r->status == 429);
  REQUIRE(r->has_header("Retry-After"));
  int retry_after = std::stoi(r->get_header_value("Retry-After"));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 60);
  CHECK(json::parse(r->body)["error"]["type"] == "rate_limit_exceeded");
  // Another operation has its own budget.
  auto other = cli.Get("/api/v1/memberships", auth());
  REQUIRE(other);
  CHECK(other->status == 200);
  fake.enforce_rate_limit(false);
  r = cli.Get("/api/v1/memberships/mem_1", auth());
  REQUIRE(r);
  CHECK(r->status == 200);
}

// ---------------------------------------------------------------------------------------------
// Control API (the standalone fake-whop executable)

TEST_CASE("fake whop: control API under /_fake") {
  Receiver rx;
  FakeWhop fake(kSecret);
  httplib::Client cli("127.0.0.1", fake.port());
  auto off = cli.Get("/_fake/calls");
  REQUIRE(off);
  CHECK(off->status == 404);
  fake.enable_control_api();

  auto r = cli.Post("/_fake/memberships", membership_json("mem_c").dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(fake.membership("mem_c").has_value());
  r = cli.Post("/_fake/payments", payment_json("pay_c", "2026-11-01T00:00:00.000Z").dump(),
               "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);

  r = cli.Post("/_fake/faults", R"({"status":503,"path_prefix":"/api/v1/payments"})",
               "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto p = cli.Get("/api/v1/payments/pay_c", auth());
  REQUIRE(p);
  CHECK(p->status == 503);
  p = cli.Get("/api/v1/memberships/mem_c", auth());
  REQUIRE(p);
  CHECK(p->status == 200);

  auto calls = cli.Get("/_fake/calls");
  REQUIRE(calls);
  json log = json::parse(calls->body);
  REQUIRE(log.size() == 2);
  CHECK(log[0]["path"] == "/api/v1/payments/pay_c");
  CHECK(log[0]["status"] == 503);
  CHECK(log[1]["status"] == 200);

  json req{{"target", rx.url()},
           {"event", FakeWhop::payment_event("payment.failed", {})},
           {"options", {{"extra_signature_entries", {"v1,AAAA"}}}}};
  r = cli.Post("/_fake/deliver", req.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  json out = json::parse(r->body);
  CHECK(out["status"] == 200);
  CHECK(out["attempts"] == 1);
  CHECK(out["webhook_id"] == req["event"]["id"]);
  auto got = rx.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].headers.webhook_signature.rfind("v1,AAAA v1,", 0) == 0);
  CHECK(check(got[0], got[0].received_s).outcome == VerifyOutcome::Ok);

  r = cli.Post("/_fake/memberships", "{\"no_id\":1}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
}
