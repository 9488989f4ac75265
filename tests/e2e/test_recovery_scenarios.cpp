// Issue 10's five recovery scenarios end to end: the real churn-saver binary (real port, real
// SQLite file, its own scheduler running fast and its job workers) against the fake Whop as a real
// HTTP server, checked as a creator sees them (JSON API, case pages, case list, CSV export,
// overview) and as Whop sees them (the calls the fake received). Event times lie in the past
// (relative to now), carried in the payloads as Whop sends them; nothing waits for the clock.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "domain/time.h"
#include "store/auth.h"
#include "store/db.h"
#include "support/fake_whop.h"
#include "support/server_process.h"
#include "support/test_app.h"
#include "support/wait.h"
#include "util/password.h"

using namespace cs;
using nlohmann::json;

namespace {

constexpr int64_t kDay = 86400000;
constexpr const char* kApiKey = "key_e2e_scenarios";
constexpr const char* kPassword = "correct horse battery staple";
constexpr const char* kProduct = "prod_As12Df34Gh56J";  // the fake's product in every event

using test::wait_for;
int64_t now_ms() {
  return test::wall_now_ms();
}

/// Reads the server's database read-only while it runs (only to know when to look).
std::string scalar(const std::string& db_path, const std::string& sql) {
  try {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    db.setBusyTimeout(5000);
    SQLite::Statement q(db, sql);
    if (!q.executeStep() || q.getColumn(0).isNull()) return "";
    return q.getColumn(0).getString();
  } catch (const std::exception&) {
    return "";
  }
}

/// A browser against the server process: keeps cookies and the page's CSRF token.
class Browser {
 public:
  explicit Browser(const test::ServerProcess& p) : p_(p) {}
  httplib::Result get(const std::string& path) {
    auto c = p_.client();
    auto res = c.Get(path.c_str(), headers());
    absorb(res);
    return res;
  }
  httplib::Result post(const std::string& path, httplib::Params params) {
    auto c = p_.client();
    auto res = c.Post(path.c_str(), headers(), params);
    absorb(res);
    return res;
  }
  bool sign_in() {
    get("/login");
    auto res = post("/login", {{"csrf_token", cookies_["cs_login_csrf"]}, {"password", kPassword}});
    return res && res->status == 303;
  }
  json api(const std::string& path) {
    auto res = get(path);
    REQUIRE(res);
    REQUIRE_MESSAGE(res->status == 200, res->body);
    return json::parse(res->body);
  }
  const std::string& csrf() const { return csrf_; }

 private:
  httplib::Headers headers() const {
    std::string c;
    for (const auto& [k, v] : cookies_) {
      if (!v.empty()) c += (c.empty() ? "" : "; ") + k + "=" + v;
    }
    if (c.empty()) return {};
    return {{"Cookie", c}};
  }
  void absorb(const httplib::Result& res) {
    if (!res) return;
    auto range = res->headers.equal_range("Set-Cookie");
    for (auto it = range.first; it != range.second; ++it) {
      std::string v = it->second.substr(0, it->second.find(';'));
      auto eq = v.find('=');
      bool expired = it->second.find("Max-Age=0") != std::string::npos;
      cookies_[v.substr(0, eq)] = expired ? "" : v.substr(eq + 1);
    }
    static const std::regex re(R"re(name="csrf_token" value="([0-9a-f]{64})")re");
    std::smatch m;
    if (std::regex_search(res->body, m, re)) csrf_ = m[1].str();
  }
  const test::ServerProcess& p_;
  std::map<std::string, std::string> cookies_;
  std::string csrf_;
};

/// The fake Whop and the real binary wired to it, with the scheduler running every 20 ms.
struct Rig {
  test::FakeWhop whop{test::kTestSecret, kApiKey};
  test::TempDir dir;
  std::string db = dir.file("cs.db");
  test::ServerProcess server{db,
                             dir.file("server.log"),
                             {"CHURN_SAVER_WHOP_WEBHOOK_SECRET=" + std::string(test::kTestSecret),
                              "CHURN_SAVER_WHOP_API_BASE=" + whop.api_base(),
                              "CHURN_SAVER_WHOP_API_KEY=" + std::string(kApiKey),
                              "CHURN_SAVER_WHOP_COMPANY_ID=biz_Qw12Er34Ty56Ui",
                              "CHURN_SAVER_WHOP_EXPERIENCE_ID=exp_E2e123",
                              "CHURN_SAVER_PUBLIC_URL=https://recover.example.com",
                              "CHURN_SAVER_JOB_LEASE=1", "CHURN_SAVER_SCHEDULER_INTERVAL=0.02"}};
  Browser web{server};

  void start() {
    ::signal(SIGPIPE, SIG_IGN);
    server.start();
    REQUIRE_MESSAGE(server.wait_ready("/healthz"), test::tail(server.log()));
    whop.set_webhook_target(server.webhook_url());
    {
      auto w = store::open_connection(db, store::ConnectionRole::Writer);
      store::save_admin_password(*w, password::hash(kPassword), now_ms());
    }
    REQUIRE(web.sign_in());
  }

  /// A membership the engine can read back (manage URL, renewal end) at the fake Whop.
  void put_membership(const std::string& id, const std::string& user, const std::string& status) {
    int64_t now = now_ms();
    whop.put_membership({{"id", id},
                         {"status", status},
                         {"manage_url", "https://whop.com/billing/manage/" + id},
                         {"renewal_period_end", domain::format_iso8601_ms(now + 3 * kDay)},
                         {"updated_at", domain::format_iso8601_ms(now)},
                         {"user", {{"id", user}, {"username", "member"}}},
                         {"company", {{"id", "biz_Qw12Er34Ty56Ui"}}}});
  }

  static test::FakeWhop::PaymentSpec spec(const std::string& membership, const std::string& user,
                                          const std::string& payment, int64_t t) {
    test::FakeWhop::PaymentSpec s;
    s.membership_id = membership;
    s.user_id = user;
    s.username = "member_" + user.substr(5);
    s.email = user.substr(5) + "@example.com";
    s.payment_id = payment;
    s.time_ms = t;
    return s;
  }

  void deliver(const json& event) {
    auto r = whop.deliver(event);
    REQUIRE_MESSAGE(r.status == 200, event.dump());
  }

  /// The membership's case as the JSON API lists it (null when there is none or several).
  json api_case(const std::string& membership) {
    json found = nullptr;
    int n = 0;
    const json all = web.api("/api/dashboard/cases?limit=200");
    for (const auto& c : all["cases"]) {
      if (c["membership_id"] == membership) {
        found = c;
        ++n;
      }
    }
    return n == 1 ? found : json(nullptr);
  }
  /// The overview's recovered revenue in USD over the last 30 days, in cents.
  int64_t recovered_usd_cents() {
    const json kpis = web.api("/api/dashboard/kpis?window=30");
    for (const auto& m : kpis["recovered_revenue"]) {
      if (m["currency"] == "usd") return m["cents"].get<int64_t>();
    }
    return 0;
  }
  std::string case_field(const std::string& membership, const std::string& column) {
    return scalar(db,
                  "SELECT " + column + " FROM cases WHERE membership_id = '" + membership + "'");
  }
  int64_t scalar_int(const std::string& sql) {
    auto v = scalar(db, sql);
    return v.empty() ? -1 : std::stoll(v);
  }
  bool events_processed() {
    return scalar(db, "SELECT count(*) FROM events WHERE process_state = 'pending'") == "0";
  }
  /// No nudge or incentive job is running or due: each has run, or waits for a later time (a
  /// nudge held back while a backlog settles looks again later and then finds the case closed).
  bool jobs_settled() {
    return scalar_int(
               "SELECT count(*) FROM jobs WHERE kind IN ('nudge', 'incentive') AND (state "
               "= 'running' OR (state = 'queued' AND run_at <= " +
               std::to_string(now_ms()) + "))") == 0;
  }

  size_t posts(const std::string& prefix) { return whop.calls("POST", prefix).size(); }
  /// Calls that reach the member (push, DM) or grant free days, in total.
  size_t member_calls() {
    size_t n =
        posts("/api/v1/notifications") + posts("/api/v1/messages") + posts("/api/v1/dm_channels");
    for (const auto& c : whop.calls("POST", "/api/v1/memberships/")) {
      if (c.path.find("/add_free_days") != std::string::npos) ++n;
    }
    return n;
  }
  /// Calls that name `needle` (a user id, membership id) in their path or body.
  size_t calls_naming(const std::string& needle) {
    size_t n = 0;
    for (const auto& c : whop.calls()) {
      if (c.method == "POST" &&
          (c.path.find(needle) != std::string::npos || c.body.find(needle) != std::string::npos)) {
        ++n;
      }
    }
    return n;
  }
};

}  // namespace

TEST_CASE("recovery scenarios end to end against the fake Whop (issue 10)") {
  Rig rig;
  rig.start();
  const int64_t now = now_ms();

  // (a) A webhook backlog after an outage: for each member, the failure from 10 days ago and,
  // within a second, the payment that settled it 8 days ago. Nobody is nudged or granted.
  std::vector<std::string> backlog, backlog_users;
  const int kMembers = 8;
  for (int i = 0; i < kMembers; ++i) {
    backlog.push_back("mem_Backlog00000" + std::to_string(i));
    backlog_users.push_back("user_Backlog0000" + std::to_string(i));
    rig.put_membership(backlog[i], backlog_users[i], "active");
    rig.deliver(test::FakeWhop::payment_event(
        "payment.failed", Rig::spec(backlog[i], backlog_users[i],
                                    "pay_BacklogF000" + std::to_string(i), now - 10 * kDay)));
  }
  // The payments follow once the engine has looked at every case's overdue nudge or incentive at
  // least once (with the scheduler at 20 ms, tens of milliseconds): a member who has already paid
  // must not be contacted in that gap either.
  REQUIRE_MESSAGE(wait_for([&] {
                    return rig.scalar_int(
                               "SELECT count(*) FROM cases c WHERE c.membership_id LIKE "
                               "'mem_Backlog%' AND EXISTS (SELECT 1 FROM jobs j WHERE j.kind IN "
                               "('nudge', 'incentive') AND j.payload LIKE '%' || c.id || '%' AND "
                               "(j.state != 'queued' OR j.last_error IS NOT NULL))") == kMembers;
                  }),
                  test::tail(rig.server.log()));
  for (int i = 0; i < kMembers; ++i) {
    rig.deliver(test::FakeWhop::payment_event(
        "payment.succeeded", Rig::spec(backlog[i], backlog_users[i],
                                       "pay_BacklogS000" + std::to_string(i), now - 8 * kDay)));
  }
  CHECK_MESSAGE(wait_for([&] {
                  for (const auto& m : backlog) {
                    if (rig.case_field(m, "status") != "recovered") return false;
                  }
                  return rig.events_processed() && rig.jobs_settled();
                }),
                test::tail(rig.server.log()));
  for (const auto& m : backlog) {
    CAPTURE(m);
    auto c = rig.api_case(m);
    REQUIRE(c.is_object());
    CHECK(c["status"] == "recovered");
    CHECK(c["resolution"] == "payment");
  }
  CHECK(rig.member_calls() == 0);  // no push, no DM, no free days for anyone so far

  // (b) Cancel at period end: the member is nudged on the day of the failure, then tells Whop to
  // end the membership at the end of the period. The case ends; nothing more goes out, not even
  // when the creator presses "Nudge now".
  const std::string mb = "mem_PeriodEnd00001", ub = "user_PeriodEnd0001";
  rig.put_membership(mb, ub, "past_due");
  const size_t pushes_before = rig.posts("/api/v1/notifications"),
               dms_before = rig.posts("/api/v1/messages");
  rig.deliver(test::FakeWhop::payment_event("payment.failed",
                                            Rig::spec(mb, ub, "pay_PeriodEndF001", now_ms())));
  REQUIRE_MESSAGE(wait_for([&] {
                    return rig.posts("/api/v1/notifications") == pushes_before + 1 &&
                           rig.posts("/api/v1/messages") == dms_before + 1 && rig.jobs_settled();
                  }),
                  test::tail(rig.server.log()));
  const size_t before_cancel = rig.member_calls();
  rig.deliver(test::FakeWhop::membership_event("membership.cancel_at_period_end_changed", mb, ub,
                                               now_ms() + 1000));
  REQUIRE(wait_for([&] { return rig.case_field(mb, "status") == "cancelled"; }));
  auto cb = rig.api_case(mb);
  REQUIRE(cb.is_object());
  CHECK(cb["status"] == "cancelled");
  CHECK(cb["resolution"] == "period_end");
  const std::string case_b = cb["id"];
  auto page_b = rig.web.get("/cases/" + case_b);
  REQUIRE(page_b);
  CHECK(page_b->body.find("Ends at the end of the current period (cancel at period end): no more "
                          "nudges or incentives.") != std::string::npos);
  CHECK(page_b->body.find("/actions/nudge") == std::string::npos);
  auto refused =
      rig.web.post("/cases/" + case_b + "/actions/nudge", {{"csrf_token", rig.web.csrf()}});
  REQUIRE(refused);
  CHECK(refused->status == 303);  // back to the case, which says why
  CHECK(wait_for([&] { return rig.jobs_settled(); }));
  CHECK(rig.member_calls() == before_cancel);
  CHECK(rig.calls_naming(mb + "/add_free_days") <= 1);  // at most the T+0 grant, none after

  // (c) Whop's lifecycle: the renewal fails, Whop cancels the membership after its retries, and
  // the member buys the same product again under a new membership id inside the window. Another
  // member whose membership was cancelled buys a different product: that case stays lost.
  const int64_t recovered_before = rig.recovered_usd_cents();
  const std::string mc = "mem_RejoinOld0001", mc_new = "mem_RejoinNew0001",
                    uc = "user_Rejoin000001";
  rig.deliver(test::FakeWhop::payment_event("payment.failed",
                                            Rig::spec(mc, uc, "pay_RejoinF00001", now - 7 * kDay)));
  rig.deliver(test::FakeWhop::membership_event("membership.deactivated", mc, uc, now - 2 * kDay));
  auto rejoin = Rig::spec(mc_new, uc, "pay_RejoinS00001", now - 1 * kDay);
  rejoin.total = 39.99;
  rig.deliver(test::FakeWhop::payment_event("payment.succeeded", rejoin));

  const std::string md = "mem_OtherProd0001", md_new = "mem_OtherProd0002",
                    ud = "user_OtherProd001";
  rig.deliver(test::FakeWhop::payment_event(
      "payment.failed", Rig::spec(md, ud, "pay_OtherProdF001", now - 7 * kDay)));
  rig.deliver(test::FakeWhop::membership_event("membership.deactivated", md, ud, now - 2 * kDay));
  auto other = test::FakeWhop::payment_event(
      "payment.succeeded", Rig::spec(md_new, ud, "pay_OtherProdS001", now - 1 * kDay));
  other["data"]["product"]["id"] = "prod_DifferentOne1";
  other["data"]["product"]["title"] = "Another Product";
  rig.deliver(other);
  REQUIRE(wait_for(
      [&] { return rig.case_field(mc, "status") == "recovered" && rig.events_processed(); }));
  auto cc = rig.api_case(mc);
  REQUIRE(cc.is_object());
  CHECK(cc["status"] == "recovered");
  CHECK(cc["resolution"] == "rejoined");
  CHECK(cc["recovered_cents"] == 3999);  // the new membership's payment
  CHECK(cc["product"] == "Pickaxe Analytics");
  auto page_c = rig.web.get("/cases/" + cc["id"].get<std::string>());
  REQUIRE(page_c);
  CHECK(page_c->body.find("Rejoined (paid for a new membership of the same product)") !=
        std::string::npos);
  auto csv = rig.web.get("/cases/export.csv");
  REQUIRE(csv);
  CHECK(csv->status == 200);
  {
    // case_id,status,resolution,membership_id,...
    auto at = csv->body.find("," + mc + ",");
    REQUIRE(at != std::string::npos);
    auto begin = csv->body.rfind('\n', at) + 1;
    auto line = csv->body.substr(begin, csv->body.find('\n', at) - begin);
    CAPTURE(line);
    CHECK(line.find(cc["id"].get<std::string>() + ",recovered,rejoined," + mc + ",") == 0);
    CHECK(line.find(",39.99,") != std::string::npos);
  }
  auto cd = rig.api_case(md);
  REQUIRE(cd.is_object());
  CHECK(cd["status"] == "lost");
  CHECK(cd["resolution"] == "deactivated");
  CHECK(cd["recovered_cents"] == 0);
  CHECK(rig.api_case(md_new).is_null());  // a purchase is not a failure: no case of its own
  CHECK(rig.api_case(mc_new).is_null());
  CHECK(rig.recovered_usd_cents() == recovered_before + 3999);  // counted in the KPIs

  // (d) A payment 16.5 days after the first failure: outside the window, the case stays lost,
  // and the payment shows on the case and on the overview.
  const std::string me = "mem_LatePayer0001", ue = "user_LatePayer001";
  const int64_t first = now - 20 * kDay;
  rig.deliver(test::FakeWhop::payment_event("payment.failed",
                                            Rig::spec(me, ue, "pay_LateF0000001", first)));
  rig.deliver(test::FakeWhop::payment_event(
      "payment.succeeded", Rig::spec(me, ue, "pay_LateS0000001", first + 16 * kDay + kDay / 2)));
  REQUIRE(
      wait_for([&] { return rig.case_field(me, "status") == "lost" && rig.events_processed(); }));
  auto ce = rig.api_case(me);
  REQUIRE(ce.is_object());
  CHECK(ce["status"] == "lost");
  CHECK(ce["resolution"] == "expired");
  CHECK(ce["recovered_cents"] == 0);
  auto page_e = rig.web.get("/cases/" + ce["id"].get<std::string>());
  REQUIRE(page_e);
  CHECK(page_e->body.find("paid 16.5 days after the first failure: outside the 14-day window, "
                          "not counted as recovered") != std::string::npos);
  auto overview = rig.web.get("/?window=30");
  REQUIRE(overview);
  CHECK(overview->status == 200);
  auto tile = overview->body.find("Paid after the window");
  REQUIRE(tile != std::string::npos);
  CHECK(overview->body.find("data-kpi=\"paid-late\">1<", tile) != std::string::npos);

  // (e) Currencies: Whop sends major units; each is stored in its own minor units and shown with
  // its own decimals and separators.
  const std::string mj = "mem_Yen000000001", uj = "user_Yen00000001";
  const std::string mk = "mem_Dinar0000001", uk = "user_Dinar000001";
  rig.put_membership(mj, uj, "past_due");
  rig.put_membership(mk, uk, "past_due");
  auto yen = Rig::spec(mj, uj, "pay_Yen000000001", now_ms());
  yen.total = 1000;
  yen.currency = "jpy";
  rig.deliver(test::FakeWhop::payment_event("payment.failed", yen));
  auto dinar = Rig::spec(mk, uk, "pay_Dinar0000001", now_ms());
  dinar.total = 12.345;
  dinar.currency = "kwd";
  rig.deliver(test::FakeWhop::payment_event("payment.failed", dinar));
  REQUIRE(wait_for([&] {
    return rig.case_field(mj, "status") == "open" && rig.case_field(mk, "status") == "open";
  }));
  auto cj = rig.api_case(mj), ck = rig.api_case(mk);
  REQUIRE(cj.is_object());
  REQUIRE(ck.is_object());
  CHECK(cj["amount_due_cents"] == 1000);
  CHECK(cj["currency"] == "jpy");
  CHECK(ck["amount_due_cents"] == 12345);
  CHECK(ck["currency"] == "kwd");
  auto list = rig.web.get("/cases");
  REQUIRE(list);
  CHECK(list->status == 200);
  CHECK(list->body.find("¥1,000") != std::string::npos);
  CHECK(list->body.find("KWD 12.345") != std::string::npos);
  CHECK(list->body.find("¥100,000") == std::string::npos);

  // Through all of it, the backlog members were never contacted.
  for (size_t i = 0; i < backlog.size(); ++i) {
    CAPTURE(backlog[i]);
    CHECK(rig.calls_naming(backlog[i]) == 0);
    CHECK(rig.calls_naming(backlog_users[i]) == 0);
  }
}
