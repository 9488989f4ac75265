// The Whop REST client (src/whop/client.h) against the fake Whop (tests/support/fake_whop.h): each
// operation's request, error messages, retries and their waits, Retry-After, the idempotency rule
// for POSTs, the client-side rate limit, the circuit breaker, pagination and metrics. Waits go
// through an injected sleep that records them and advances a ManualClock: nothing sleeps except
// the fake's own slow answers (kept short).
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "domain/time.h"
#include "support/fake_whop.h"
#include "util/clock.h"
#include "whop/client.h"

using cs::ManualClock;
using cs::test::Call;
using cs::test::FakeWhop;
using cs::test::Fault;
using cs::whop::ApiError;
using cs::whop::CancelMode;
using cs::whop::Client;
using cs::whop::ClientConfig;
using cs::whop::Page;
using nlohmann::json;

namespace {

const std::string kSecret = "ws_28c2a0ba7b871781f3e69297d36443e0748ba95ca48b627483daf94564bd613a";
const std::string kKey = "test_api_key";
const std::string kBiz = "biz_Qw12Er34Ty56Ui";
constexpr int64_t kStart = 1'790'000'000'000;  // 2026-09-21

json membership(const std::string& id, const std::string& status = "past_due",
                const std::string& company = kBiz) {
  return json{{"id", id},
              {"status", status},
              {"company", {{"id", company}}},
              {"renewal_period_end", "2026-10-01T00:00:00.000Z"},
              {"cancel_at_period_end", false},
              {"manage_url", "https://whop.com/billing/manage/" + id},
              {"user", {{"id", "user_" + id.substr(4)}}}};
}

json payment(const std::string& id, const std::string& updated_at) {
  return json{
      {"id", id}, {"status", "open"}, {"company", {{"id", kBiz}}}, {"updated_at", updated_at}};
}

// A fake Whop and a client whose waits advance a manual clock.
struct Harness {
  FakeWhop fake{kSecret, kKey};
  ManualClock clock{kStart};
  std::mutex mu;
  std::vector<int64_t> sleeps;
  std::function<double()> random01;  // empty: the client's own
  std::unique_ptr<Client> client;

  explicit Harness(const std::function<void(ClientConfig&)>& tune = {}) {
    fake.put_membership(membership("mem_1"));
    reset(tune);
  }

  ClientConfig config() const {
    ClientConfig c;
    c.api_base = fake.api_base();
    c.api_key = kKey;
    c.connect_timeout_ms = 1000;
    c.read_timeout_ms = 2000;
    return c;
  }

  void reset(const std::function<void(ClientConfig&)>& tune = {}) {
    ClientConfig c = config();
    if (tune) tune(c);
    client = std::make_unique<Client>(
        c, clock,
        [this](int64_t ms) {
          std::lock_guard lk(mu);
          sleeps.push_back(ms);
          clock.advance(ms);
        },
        random01);
  }

  std::vector<int64_t> waits() {
    std::lock_guard lk(mu);
    return sleeps;
  }
  void clear_waits() {
    std::lock_guard lk(mu);
    sleeps.clear();
  }
  Client& c() { return *client; }
};

json body_of(const Call& call) {
  return json::parse(call.body);
}

// A loopback port nobody listens on.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

uint64_t count(const Client& c, const std::string& op, const std::string& outcome) {
  auto m = c.calls();
  auto it = m.find({op, outcome});
  return it == m.end() ? 0 : it->second;
}

}  // namespace

TEST_SUITE("whop client") {
  // --- Happy paths: what the fake received ------------------------------------------------------

  TEST_CASE("get_membership reads one membership") {
    Harness h;
    auto r = h.c().get_membership("mem_1");
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK((*r)["id"] == "mem_1");
    CHECK((*r)["manage_url"] == "https://whop.com/billing/manage/mem_1");
    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].method == "GET");
    CHECK(calls[0].path == "/api/v1/memberships/mem_1");
    CHECK(calls[0].body.empty());
    CHECK(calls[0].status == 200);
    CHECK(h.waits().empty());
  }

  TEST_CASE("list_memberships sends company, bracketed statuses, first and after") {
    Harness h;
    h.fake.put_membership(membership("mem_2", "active"));
    h.fake.put_membership(membership("mem_3", "past_due", "biz_Other"));
    auto r = h.c().list_memberships(kBiz, {"past_due", "canceled"}, std::nullopt, 10);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    REQUIRE(r->data.size() == 1);
    CHECK(r->data[0]["id"] == "mem_1");
    CHECK_FALSE(r->has_next_page);
    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].path == "/api/v1/memberships");
    CHECK(calls[0].query ==
          "company_id=" + kBiz + "&statuses[]=past_due&statuses[]=canceled&first=10");
  }

  TEST_CASE("list_payments filters by updated_after (an encoded ISO date-time)") {
    Harness h;
    h.fake.put_payment(payment("pay_old", "2026-09-01T00:00:00.000Z"));
    h.fake.put_payment(payment("pay_new", "2026-09-20T12:00:00.000Z"));
    auto r = h.c().list_payments(kBiz, "2026-09-10T00:00:00.000Z");
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    REQUIRE(r->data.size() == 1);
    CHECK(r->data[0]["id"] == "pay_new");
    auto calls = h.fake.calls("GET", "/api/v1/payments");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].query.find("updated_after=2026-09-10T00%3A00%3A00.000Z") != std::string::npos);

    auto one = h.c().get_payment("pay_old");
    REQUIRE(one.ok());
    CHECK((*one)["id"] == "pay_old");
  }

  TEST_CASE("add_free_days posts free_days and returns the membership") {
    Harness h;
    auto r = h.c().add_free_days("mem_1", 7);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK((*r)["renewal_period_end"] == "2026-10-08T00:00:00.000Z");
    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].method == "POST");
    CHECK(calls[0].path == "/api/v1/memberships/mem_1/add_free_days");
    CHECK(body_of(calls[0]) == json{{"free_days", 7}});
    CHECK(h.fake.free_day_grants("mem_1") == std::vector<int>{7});
  }

  TEST_CASE("cancel (both modes), uncancel and retry_payment") {
    Harness h;
    h.fake.put_membership(membership("mem_2"));
    h.fake.put_payment(payment("pay_1", "2026-09-20T12:00:00.000Z"));

    auto a = h.c().cancel_membership("mem_1", CancelMode::AtPeriodEnd);
    REQUIRE_MESSAGE(a.ok(), a.error().message);
    CHECK((*a)["cancel_at_period_end"] == true);
    auto u = h.c().uncancel_membership("mem_1");
    REQUIRE_MESSAGE(u.ok(), u.error().message);
    CHECK((*u)["cancel_at_period_end"] == false);
    auto i = h.c().cancel_membership("mem_2", CancelMode::Immediate);
    REQUIRE(i.ok());
    CHECK((*i)["status"] == "canceled");
    auto p = h.c().retry_payment("pay_1");
    REQUIRE_MESSAGE(p.ok(), p.error().message);
    CHECK((*p)["id"] == "pay_1");

    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 4);
    CHECK(calls[0].path == "/api/v1/memberships/mem_1/cancel");
    CHECK(body_of(calls[0]) == json{{"cancellation_mode", "at_period_end"}});
    CHECK(calls[1].path == "/api/v1/memberships/mem_1/uncancel");
    CHECK(calls[2].path == "/api/v1/memberships/mem_2/cancel");
    CHECK(body_of(calls[2]) == json{{"cancellation_mode", "immediate"}});
    CHECK(calls[3].path == "/api/v1/payments/pay_1/retry");
    for (const auto& c : calls) CHECK(c.method == "POST");
  }

  TEST_CASE("send_push, open_dm_channel and send_dm") {
    Harness h;
    auto push = h.c().send_push("exp_Ab12", {"user_1", "user_2"}, "Payment failed",
                                "Please update your card", "/billing");
    REQUIRE_MESSAGE(push.ok(), push.error().message);
    auto push2 = h.c().send_push("exp_Ab12", {"user_1"}, "T", "C");
    REQUIRE(push2.ok());
    auto ch = h.c().open_dm_channel("user_1", kBiz);
    REQUIRE_MESSAGE(ch.ok(), ch.error().message);
    CHECK(ch->rfind("feed_", 0) == 0);
    auto again = h.c().open_dm_channel("user_1", kBiz);
    REQUIRE(again.ok());
    CHECK(*again == *ch);
    auto msg = h.c().send_dm(*ch, "Hi **there**");
    REQUIRE_MESSAGE(msg.ok(), msg.error().message);
    CHECK(msg->rfind("msg_", 0) == 0);

    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 5);
    CHECK(calls[0].path == "/api/v1/notifications");
    CHECK(body_of(calls[0]) == json{{"experience_id", "exp_Ab12"},
                                    {"user_ids", {"user_1", "user_2"}},
                                    {"title", "Payment failed"},
                                    {"content", "Please update your card"},
                                    {"rest_path", "/billing"}});
    CHECK_FALSE(body_of(calls[1]).contains("rest_path"));
    CHECK(calls[2].path == "/api/v1/dm_channels");
    CHECK(body_of(calls[2]) == json{{"with_user_ids", {"user_1"}}, {"company_id", kBiz}});
    CHECK(calls[4].path == "/api/v1/messages");
    CHECK(body_of(calls[4]) == json{{"channel_id", *ch}, {"content", "Hi **there**"}});
  }

  TEST_CASE("check_connection says the key works, or why not") {
    Harness h;
    auto ok = h.c().check_connection(kBiz);
    REQUIRE_MESSAGE(ok.ok(), ok.error().message);
    CHECK(ok->find("Connected to Whop at http://127.0.0.1:") == 0);
    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].query == "company_id=" + kBiz + "&first=1");

    h.reset([](ClientConfig& c) { c.api_key = "wrong"; });
    auto bad = h.c().check_connection(kBiz);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("API key") != std::string::npos);
  }

  TEST_CASE("a bad API base is refused at construction; an empty key fails without a request") {
    ManualClock clock(kStart);
    ClientConfig c;
    c.api_key = kKey;
    for (const char* base : {"", "api.whop.com/api/v1", "ftp://api.whop.com", "https://"}) {
      c.api_base = base;
      CHECK_THROWS_AS((void)Client(c, clock), std::invalid_argument);
    }
    c.api_base = "https://api.whop.com/api/v1/";
    Client ok(c, clock);
    CHECK(ok.host() == "https://api.whop.com");

    Harness h([](ClientConfig& cfg) { cfg.api_key.clear(); });
    auto r = h.c().get_membership("mem_1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "not_configured");
    CHECK_FALSE(r.error().retryable);
    CHECK(h.fake.calls().empty());
  }

  // --- Errors that are not retried -------------------------------------------------------------

  TEST_CASE("401 with a wrong key: a clear message, not retried") {
    Harness h([](ClientConfig& c) { c.api_key = "not_the_key"; });
    auto r = h.c().get_membership("mem_1");
    REQUIRE_FALSE(r.ok());
    const ApiError& e = r.error();
    CHECK(e.status == 401);
    CHECK(e.code == "unauthorized");
    CHECK_FALSE(e.retryable);
    CHECK(e.attempts == 1);
    CHECK(e.message ==
          "Whop did not accept the API key (401 unauthorized): Missing or invalid API key. "
          "Check CHURN_SAVER_WHOP_API_KEY.");
    CHECK(h.fake.calls().size() == 1);
    CHECK(h.waits().empty());
  }

  TEST_CASE("404: not retried, Whop's message surfaced") {
    Harness h;
    auto r = h.c().get_membership("mem_missing");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().status == 404);
    CHECK_FALSE(r.error().retryable);
    CHECK(r.error().message ==
          "Whop could not find it (404 not_found): Membership mem_missing was not found.");
    CHECK(h.fake.calls().size() == 1);
  }

  TEST_CASE("400 validation: Whop's message surfaced, not retried, nothing granted") {
    Harness h;
    auto r = h.c().add_free_days("mem_1", 0);
    REQUIRE_FALSE(r.ok());
    const ApiError& e = r.error();
    CHECK(e.status == 400);
    CHECK(e.code == "invalid_params");
    CHECK_FALSE(e.retryable);
    CHECK_FALSE(e.outcome_unknown);
    CHECK(e.message ==
          "Whop rejected the request (400 invalid_params): free_days must be an integer from 1 to "
          "1095.");
    CHECK(h.fake.calls().size() == 1);
    CHECK(h.fake.free_day_grants("mem_1").empty());
  }

  // --- Retries ---------------------------------------------------------------------------------

  TEST_CASE("429 with Retry-After: waits exactly that, then succeeds") {
    Harness h;
    h.fake.inject(Fault{"GET", "/api/v1/memberships/", 429, 3, 0, false, false, 1});
    auto r = h.c().get_membership("mem_1");
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(h.waits() == std::vector<int64_t>{3000});
    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].status == 429);
    CHECK(calls[1].status == 200);
    CHECK(count(h.c(), "get_membership", "http_429") == 1);
    CHECK(count(h.c(), "get_membership", "ok") == 1);
  }

  TEST_CASE("429 on a POST is retried (the request was refused, not processed)") {
    Harness h;
    h.fake.inject(
        Fault{"POST", "/api/v1/memberships/mem_1/add_free_days", 429, 1, 0, false, false, 1});
    auto r = h.c().add_free_days("mem_1", 3);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(h.waits() == std::vector<int64_t>{1000});
    CHECK(h.fake.free_day_grants("mem_1") == std::vector<int>{3});
  }

  TEST_CASE("429 with a long Retry-After: no blocking, a retryable error carrying the wait") {
    Harness h;  // max_wait_ms = 10 s
    h.fake.inject(Fault{"GET", "", 429, 45, 0, false, false, 1});
    auto r = h.c().get_membership("mem_1");
    REQUIRE_FALSE(r.ok());
    const ApiError& e = r.error();
    CHECK(e.status == 429);
    CHECK(e.code == "rate_limit_exceeded");
    CHECK(e.retryable);
    REQUIRE(e.retry_after_ms.has_value());
    CHECK(*e.retry_after_ms == 45000);
    CHECK(e.message ==
          "Whop's rate limit was reached (429 rate_limit_exceeded): Try again in 45 "
          "seconds.");
    CHECK(h.waits().empty());
    CHECK(h.fake.calls().size() == 1);
  }

  TEST_CASE("429 without Retry-After: exponential backoff with jitter, within bounds") {
    SUBCASE("the client's own jitter") {
      Harness h;  // base 500 ms, cap 8 s: waits in [250, 500], [500, 1000], [1000, 2000]
      h.fake.inject(Fault{"GET", "", 429, std::nullopt, 0, false, false, 3});
      auto r = h.c().get_membership("mem_1");
      REQUIRE_MESSAGE(r.ok(), r.error().message);
      auto w = h.waits();
      REQUIRE(w.size() == 3);
      CHECK(w[0] >= 250);
      CHECK(w[0] <= 500);
      CHECK(w[1] >= 500);
      CHECK(w[1] <= 1000);
      CHECK(w[2] >= 1000);
      CHECK(w[2] <= 2000);
      CHECK(h.fake.calls().size() == 4);
    }
    SUBCASE("the jitter's ends, and the cap") {
      Harness h;
      double j = 0.0;
      h.random01 = [&j] { return j; };
      h.reset([](ClientConfig& c) {
        c.backoff_base_ms = 1000;
        c.backoff_cap_ms = 3000;
        c.max_retries = 4;
      });
      h.fake.inject(Fault{"GET", "", 429, std::nullopt, 0, false, false, 4});
      REQUIRE(h.c().get_membership("mem_1").ok());
      CHECK(h.waits() == std::vector<int64_t>{500, 1000, 1500, 1500});
      h.clear_waits();
      j = 0.999999;
      h.fake.inject(Fault{"GET", "", 429, std::nullopt, 0, false, false, 4});
      REQUIRE(h.c().get_membership("mem_1").ok());
      auto w = h.waits();
      REQUIRE(w.size() == 4);
      CHECK(w[0] == 999);
      CHECK(w[3] == 2999);
    }
  }

  TEST_CASE("retries run out: the last error comes back, still retryable") {
    Harness h([](ClientConfig& c) { c.max_retries = 2; });
    h.fake.inject(Fault{"GET", "", 500, std::nullopt, 0, false, false, 10});
    auto r = h.c().get_membership("mem_1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().status == 500);
    CHECK(r.error().retryable);
    CHECK_FALSE(r.error().outcome_unknown);  // a GET
    CHECK(r.error().attempts == 3);
    CHECK(h.fake.calls().size() == 3);
    CHECK(h.waits().size() == 2);
  }

  TEST_CASE("503 on a GET: retried, then success") {
    Harness h;
    h.fake.inject(Fault{"GET", "/api/v1/memberships/mem_1", 503, std::nullopt, 0, false, false, 2});
    auto r = h.c().get_membership("mem_1");
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].status == 503);
    CHECK(calls[1].status == 503);
    CHECK(calls[2].status == 200);
    CHECK(h.waits().size() == 2);
    CHECK(count(h.c(), "get_membership", "http_5xx") == 2);
  }

  TEST_CASE("503 on add_free_days: outcome unknown, not retried") {
    Harness h;
    h.fake.inject(Fault{"POST", "", 503, std::nullopt, 0, false, false, 1});
    auto r = h.c().add_free_days("mem_1", 5);
    REQUIRE_FALSE(r.ok());
    const ApiError& e = r.error();
    CHECK(e.status == 503);
    CHECK(e.retryable);
    CHECK(e.outcome_unknown);
    CHECK(e.attempts == 1);
    CHECK(e.message.find("may have taken effect") != std::string::npos);
    CHECK(h.fake.calls().size() == 1);
    CHECK(h.waits().empty());
  }

  TEST_CASE("a timeout on add_free_days that took effect: outcome unknown, one grant only") {
    Harness h([](ClientConfig& c) { c.read_timeout_ms = 300; });
    h.fake.inject(Fault{"POST", "/api/v1/memberships/mem_1/add_free_days", 0, std::nullopt, 700,
                        false, true, 1});
    auto r = h.c().add_free_days("mem_1", 7);
    REQUIRE_FALSE(r.ok());
    const ApiError& e = r.error();
    CHECK(e.status == 0);
    CHECK(e.code == "timeout");
    CHECK(e.retryable);
    CHECK(e.outcome_unknown);
    CHECK(e.attempts == 1);
    CHECK(e.message == "Whop did not answer within 0.3 seconds. The action may have taken effect.");
    CHECK(h.fake.calls("POST", "/api/v1/memberships/mem_1/add_free_days").size() == 1);
    CHECK(h.fake.free_day_grants("mem_1") == std::vector<int>{7});
    CHECK(h.waits().empty());
    CHECK(count(h.c(), "add_free_days", "timeout") == 1);
    // What the job does next: read the membership back and see the grant.
    auto m = h.c().get_membership("mem_1");
    REQUIRE(m.ok());
    CHECK((*m)["renewal_period_end"] == "2026-10-08T00:00:00.000Z");
  }

  TEST_CASE("a slow answer within the read timeout is just slow") {
    Harness h([](ClientConfig& c) { c.read_timeout_ms = 1500; });
    h.fake.inject(Fault{"GET", "", 0, std::nullopt, 100, false, false, 1});
    auto r = h.c().get_membership("mem_1");
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(h.fake.calls().size() == 1);
  }

  TEST_CASE("a timeout on a GET is retried") {
    Harness h([](ClientConfig& c) { c.read_timeout_ms = 200; });
    h.fake.inject(Fault{"GET", "", 0, std::nullopt, 500, false, false, 1});
    auto r = h.c().get_membership("mem_1");
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(h.fake.calls().size() == 2);
    CHECK(count(h.c(), "get_membership", "timeout") == 1);
  }

  TEST_CASE("a dropped connection on a GET is retried") {
    Harness h;
    h.fake.inject(Fault{"GET", "/api/v1/memberships/mem_1", 0, std::nullopt, 0, true, false, 1});
    auto r = h.c().get_membership("mem_1");
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].status == 0);
    CHECK(calls[1].status == 200);
    CHECK(h.waits().size() == 1);
    CHECK(count(h.c(), "get_membership", "network") == 1);
  }

  TEST_CASE("a dropped connection on a POST: outcome unknown, not retried") {
    Harness h;
    h.fake.inject(Fault{"POST", "", 0, std::nullopt, 0, true, false, 1});
    auto r = h.c().send_dm("feed_x", "hello");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().status == 0);
    CHECK(r.error().code == "connection_lost");
    CHECK(r.error().outcome_unknown);
    CHECK(h.fake.calls().size() == 1);
  }

  TEST_CASE("connection refused: nothing was sent, so POSTs are retried too") {
    Harness h([](ClientConfig& c) {
      c.api_base = "http://127.0.0.1:" + std::to_string(closed_port()) + "/api/v1";
      c.max_retries = 2;
    });
    auto r = h.c().add_free_days("mem_1", 7);
    REQUIRE_FALSE(r.ok());
    const ApiError& e = r.error();
    CHECK(e.status == 0);
    CHECK(e.code == "connection_failed");
    CHECK(e.retryable);
    CHECK_FALSE(e.outcome_unknown);
    CHECK(e.attempts == 3);
    CHECK(e.message.find("Could not connect to Whop at http://127.0.0.1:") == 0);
    CHECK(h.waits().size() == 2);
    CHECK(count(h.c(), "add_free_days", "network") == 3);
  }

  TEST_CASE("https goes through OpenSSL: a plain-http server fails the TLS handshake") {
    Harness h([](ClientConfig& c) {
      c.api_base.replace(0, 4, "https");
      c.max_retries = 1;
    });
    REQUIRE(h.c().host().rfind("https://127.0.0.1:", 0) == 0);
    auto r = h.c().add_free_days("mem_1", 7);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "tls");
    CHECK(r.error().status == 0);
    CHECK(r.error().retryable);
    CHECK_FALSE(r.error().outcome_unknown);  // the handshake failed: nothing was sent
    CHECK(r.error().attempts == 2);
    CHECK(h.fake.calls().empty());
    CHECK(h.fake.free_day_grants("mem_1").empty());
    CHECK(count(h.c(), "add_free_days", "tls") == 2);
  }

  TEST_CASE("waits are bounded per call: past the budget the error carries the wait") {
    Harness h([](ClientConfig& c) {
      c.call_wait_budget_ms = 5000;
      c.max_retries = 5;
    });
    h.fake.inject(Fault{"GET", "", 429, 3, 0, false, false, 5});
    auto r = h.c().get_membership("mem_1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().retryable);
    CHECK(r.error().retry_after_ms == std::optional<int64_t>(3000));
    CHECK(h.waits() == std::vector<int64_t>{3000});  // a second 3 s wait would pass 5 s
    CHECK(h.fake.calls().size() == 2);
  }

  // --- Rate limit ------------------------------------------------------------------------------

  TEST_CASE("the client-side limit keeps each operation under N calls per minute") {
    Harness h([](ClientConfig& c) {
      c.rate_limit_per_minute = 5;
      c.max_wait_ms = 60000;
      c.call_wait_budget_ms = 60000;
    });
    // Record the (manual) time of every request the fake sees, through the call log order.
    std::vector<int64_t> sent_at;
    for (int i = 0; i < 12; ++i) {
      REQUIRE(h.c().get_membership("mem_1").ok());
      sent_at.push_back(h.clock.now_ms());
    }
    CHECK(h.fake.calls().size() == 12);
    // 5 at once, then a wait of a full minute, 5 more, another minute, the last 2.
    CHECK(h.waits() == std::vector<int64_t>{60000, 60000});
    for (size_t i = 0; i < sent_at.size(); ++i) {
      int in_window = 0;
      for (size_t k = 0; k < sent_at.size(); ++k)
        if (sent_at[k] <= sent_at[i] && sent_at[i] - sent_at[k] < 60000) ++in_window;
      CHECK(in_window <= 5);
    }
    // Another operation has its own window.
    REQUIRE(h.c().list_memberships(kBiz).ok());
    CHECK(h.waits().size() == 2);
  }

  TEST_CASE("the client-side limit: a wait longer than allowed becomes a retryable error") {
    Harness h([](ClientConfig& c) { c.rate_limit_per_minute = 2; });
    REQUIRE(h.c().get_membership("mem_1").ok());
    h.clock.advance(15000);
    REQUIRE(h.c().get_membership("mem_1").ok());
    auto r = h.c().get_membership("mem_1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "rate_limited_locally");
    CHECK(r.error().retryable);
    CHECK(r.error().retry_after_ms == std::optional<int64_t>(45000));
    CHECK(r.error().attempts == 0);
    CHECK(h.fake.calls().size() == 2);
    CHECK(count(h.c(), "get_membership", "throttled") == 1);
    h.clock.advance(45000);
    CHECK(h.c().get_membership("mem_1").ok());
  }

  // --- Circuit breaker -------------------------------------------------------------------------

  TEST_CASE("a 503 outage opens the breaker; it fails fast, tries once after the pause, closes") {
    Harness h([](ClientConfig& c) {
      c.breaker_failures = 5;
      c.max_retries = 2;
      c.breaker_open_ms = 30000;
    });
    h.fake.inject(Fault{"GET", "/api/v1/memberships/", 503, std::nullopt, 0, false, false, 100});

    auto first = h.c().get_membership("mem_1");  // 3 attempts: failures 1..3
    REQUIRE_FALSE(first.ok());
    CHECK(first.error().attempts == 3);
    CHECK_FALSE(first.error().breaker_open);
    CHECK(h.c().breakers().at("get_membership").state == "closed");
    CHECK(h.c().breakers().at("get_membership").consecutive_failures == 3);

    auto second = h.c().get_membership("mem_1");  // 2 attempts: the 5th failure opens it
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().attempts == 2);
    CHECK(second.error().status == 503);
    CHECK(second.error().retry_after_ms == std::optional<int64_t>(30000));
    CHECK(h.fake.calls().size() == 5);
    CHECK(h.c().breakers().at("get_membership").state == "open");

    // Open: fail fast, nothing sent.
    h.clear_waits();
    h.clock.advance(10000);
    for (int i = 0; i < 3; ++i) {
      auto r = h.c().get_membership("mem_1");
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().breaker_open);
      CHECK(r.error().retryable);
      CHECK(r.error().code == "breaker_open");
      CHECK(r.error().attempts == 0);
      CHECK(r.error().retry_after_ms == std::optional<int64_t>(20000));
    }
    CHECK(h.fake.calls().size() == 5);
    CHECK(h.waits().empty());
    CHECK(count(h.c(), "get_membership", "breaker_open") == 3);
    // Other operations are not affected.
    CHECK(h.c().list_memberships(kBiz).ok());
    CHECK(h.fake.calls().size() == 6);

    // Half-open: one trial; it fails, the breaker opens again without retries.
    h.clock.advance(20000);
    CHECK(h.c().breakers().at("get_membership").state == "half_open");
    auto trial = h.c().get_membership("mem_1");
    REQUIRE_FALSE(trial.ok());
    CHECK(trial.error().status == 503);
    CHECK(trial.error().attempts == 1);
    CHECK(h.fake.calls().size() == 7);
    CHECK(h.c().breakers().at("get_membership").state == "open");
    auto still = h.c().get_membership("mem_1");
    CHECK(still.error().breaker_open);
    CHECK(h.fake.calls().size() == 7);

    // Whop recovers; the next trial succeeds and closes the breaker.
    h.fake.clear_faults();
    h.clock.advance(30000);
    auto ok = h.c().get_membership("mem_1");
    REQUIRE_MESSAGE(ok.ok(), ok.error().message);
    CHECK(h.fake.calls().size() == 8);
    auto b = h.c().breakers().at("get_membership");
    CHECK(b.state == "closed");
    CHECK(b.consecutive_failures == 0);
    CHECK(h.c().get_membership("mem_1").ok());
  }

  TEST_CASE("a POST outage also opens the breaker, and answers do not count as failures") {
    Harness h([](ClientConfig& c) { c.breaker_failures = 2; });
    h.fake.inject(Fault{"POST", "", 502, std::nullopt, 0, false, false, 2});
    CHECK(h.c().add_free_days("mem_1", 1).error().outcome_unknown);
    CHECK(h.c().add_free_days("mem_1", 1).error().outcome_unknown);
    auto r = h.c().add_free_days("mem_1", 1);
    CHECK(r.error().breaker_open);
    CHECK_FALSE(r.error().outcome_unknown);
    CHECK(h.fake.calls().size() == 2);
    CHECK(h.fake.free_day_grants("mem_1").empty());

    // 404s and 429s come from a working Whop: they never open it.
    Harness g([](ClientConfig& c) { c.breaker_failures = 2; });
    for (int i = 0; i < 4; ++i) CHECK(g.c().get_membership("mem_nope").error().status == 404);
    CHECK(g.c().breakers().at("get_membership").state == "closed");
  }

  // --- Pagination ------------------------------------------------------------------------------

  TEST_CASE("for_each_page walks 3 pages with the cursor") {
    Harness h;
    for (int i = 2; i <= 7; ++i) h.fake.put_membership(membership("mem_" + std::to_string(i)));
    h.fake.put_membership(membership("mem_9", "active"));
    std::vector<std::string> ids;
    auto pages = cs::whop::for_each_page(
        [&](const std::optional<std::string>& after) {
          return h.c().list_memberships(kBiz, {"past_due"}, after, 3);
        },
        [&](const Page& p) {
          for (const auto& m : p.data) ids.push_back(m["id"].get<std::string>());
          return true;
        });
    REQUIRE_MESSAGE(pages.ok(), pages.error().message);
    CHECK(*pages == 3);
    CHECK(ids ==
          std::vector<std::string>{"mem_1", "mem_2", "mem_3", "mem_4", "mem_5", "mem_6", "mem_7"});
    auto calls = h.fake.calls();
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].query.find("after=") == std::string::npos);
    CHECK(calls[1].query.find("&after=") != std::string::npos);
    CHECK(calls[2].query.find("&after=") != std::string::npos);

    // Stopping early, and an error in the middle.
    int seen = 0;
    auto one = cs::whop::for_each_page(
        [&](const std::optional<std::string>& after) {
          return h.c().list_memberships(kBiz, {"past_due"}, after, 3);
        },
        [&](const Page&) { return ++seen < 1; });
    REQUIRE(one.ok());
    CHECK(*one == 1);
    h.fake.inject(Fault{"GET", "", 400, std::nullopt, 0, false, false, 1});
    auto bad = cs::whop::for_each_page(
        [&](const std::optional<std::string>& after) {
          return h.c().list_memberships(kBiz, {}, after, 3);
        },
        [&](const Page&) { return true; });
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().status == 400);
  }

  // --- Metrics, concurrency, Retry-After parsing ----------------------------------------------

  TEST_CASE("metrics count requests by operation and outcome") {
    Harness h;
    REQUIRE(h.c().get_membership("mem_1").ok());
    REQUIRE(h.c().get_membership("mem_1").ok());
    REQUIRE_FALSE(h.c().get_membership("mem_x").ok());
    h.fake.inject(Fault{"POST", "", 429, 1, 0, false, false, 1});
    REQUIRE(h.c().add_free_days("mem_1", 2).ok());
    auto m = h.c().calls();
    using K = std::pair<std::string, std::string>;
    std::map<K, uint64_t> want{{{"get_membership", "ok"}, 2},
                               {{"get_membership", "http_4xx"}, 1},
                               {{"add_free_days", "http_429"}, 1},
                               {{"add_free_days", "ok"}, 1}};
    CHECK(m == want);
    auto b = h.c().breakers();
    CHECK(b.size() == 2);
    CHECK(b.at("add_free_days").state == "closed");
  }

  TEST_CASE("several workers share one client") {
    Harness h([](ClientConfig& c) {
      c.rate_limit_per_minute = 1000;
      c.max_retries = 10;        // 5 failures may all land on one call
      c.breaker_failures = 100;  // and must not open the breaker here
    });
    for (int i = 2; i <= 8; ++i) h.fake.put_membership(membership("mem_" + std::to_string(i)));
    h.fake.inject(Fault{"GET", "", 503, std::nullopt, 0, false, false, 5});
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i)
          if (h.c().get_membership("mem_" + std::to_string(1 + (t + i) % 8)).ok()) ++ok;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(ok.load() == 60);
    CHECK(count(h.c(), "get_membership", "ok") == 60);
    CHECK(count(h.c(), "get_membership", "http_5xx") == 5);
    CHECK(h.fake.calls().size() == 65);
  }

  TEST_CASE("calls reuse kept-alive connections; one idle too long is replaced") {
    Harness h;
    for (int i = 0; i < 4; ++i) REQUIRE(h.c().get_membership("mem_1").ok());
    REQUIRE(h.c().add_free_days("mem_1", 3).ok());
    CHECK(h.c().connections_opened() == 1);  // before: one TCP (and TLS) connection per call
    // Idle past idle_connection_ms (4 s): the server may be closing it, so a new one is opened.
    h.clock.advance(4000);
    REQUIRE(h.c().get_membership("mem_1").ok());
    CHECK(h.c().connections_opened() == 2);
  }

  TEST_CASE("a connection the server closes is replaced without failing a call") {
    Harness h;
    // cpp-httplib's server closes a connection after 5 requests (Connection: close).
    for (int i = 0; i < 12; ++i) REQUIRE(h.c().get_membership("mem_1").ok());
    CHECK(count(h.c(), "get_membership", "ok") == 12);
    CHECK(h.c().connections_opened() == 3);
    CHECK(h.fake.calls().size() == 12);
  }

  TEST_CASE("Retry-After: seconds or an HTTP-date") {
    using cs::whop::parse_retry_after_ms;
    const int64_t now = *cs::domain::parse_iso8601_ms("2026-09-21T10:00:00Z");
    CHECK(parse_retry_after_ms("7", now) == std::optional<int64_t>(7000));
    CHECK(parse_retry_after_ms(" 0 ", now) == std::optional<int64_t>(0));
    CHECK(parse_retry_after_ms("Mon, 21 Sep 2026 10:00:30 GMT", now) ==
          std::optional<int64_t>(30000));
    CHECK(parse_retry_after_ms("Mon, 21 Sep 2026 09:00:00 GMT", now) == std::optional<int64_t>(0));
    CHECK_FALSE(parse_retry_after_ms("soon", now).has_value());
    CHECK_FALSE(parse_retry_after_ms("-5", now).has_value());
    CHECK_FALSE(parse_retry_after_ms("", now).has_value());
  }
}
