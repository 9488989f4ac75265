#pragma once
// Shared fixture of the recovery engine tests (tests/http/test_engine_*.cpp): the real App on a
// ManualClock with the fake Whop as its API, webhooks signed at the app's time, and helpers that
// read what a user would notice (calls at the fake, cases, nudge_sends, recovery_actions, jobs).
// The database lives in the fixture's own directory so a test can restart the app on it.
#include <doctest/doctest.h>

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "domain/time.h"
#include "service/processing.h"
#include "store/cases.h"
#include "store/engine.h"
#include "store/jobs.h"
#include "store/settings.h"
#include "support/fake_whop.h"
#include "support/test_app.h"

namespace cs::engine_test {

using nlohmann::json;

constexpr int64_t kDay = 86400000;
constexpr const char* kCompany = "biz_Qw12Er34Ty56Ui";
constexpr const char* kExperience = "exp_Test123";
constexpr const char* kPublicUrl = "https://recover.example.com";
constexpr const char* kMembership = "mem_Zx12Cv34Bn56Ml";
constexpr const char* kUser = "user_Qa12Ws34Ed56R";

/// A v1 Membership as the fake serves it.
inline json membership_json(const std::string& id, int64_t renewal_end_ms,
                            const std::string& status = "past_due",
                            const std::string& user_id = kUser) {
  return {{"id", id},
          {"status", status},
          {"manage_url", "https://whop.com/billing/manage/" + id},
          {"renewal_period_end", domain::format_iso8601_ms(renewal_end_ms)},
          {"updated_at", domain::format_iso8601_ms(renewal_end_ms - 30 * kDay)},
          {"user", {{"id", user_id}, {"username", "member"}}},
          {"company", {{"id", kCompany}}}};
}

/// A fault for the next `count` calls of `method` ("" = any) under `path_prefix`; set the rest.
inline test::Fault fault_on(const std::string& method, const std::string& path_prefix,
                            int count = 1) {
  test::Fault f;
  f.method = method;
  f.path_prefix = path_prefix;
  f.count = count;
  return f;
}

struct Env {
  using Configure = std::function<void(app::Config&)>;

  int64_t start = static_cast<int64_t>(std::time(nullptr)) * 1000;
  ManualClock clock{start};
  test::FakeWhop whop{test::kTestSecret, "key_test"};
  test::TempDir dir;
  std::unique_ptr<test::TestApp> app;

  explicit Env(Configure extra = {}, bool put_default_membership = true) {
    open(std::move(extra));
    if (put_default_membership) whop.put_membership(membership_json(kMembership, start + 3 * kDay));
  }

  /// Starts the app (again) on the fixture's database with the engine configuration + `extra`.
  /// With `background`, the app's own scheduler and job workers run (as in production).
  void open(Configure extra = {}, bool background = false) {
    app.reset();
    test::TestApp::Options o;
    o.background_workers = background;
    o.clock = &clock;
    o.db_path = dir.file("cs.db");
    o.configure = [this, extra](app::Config& c) {
      c.whop_api_base = whop.api_base();
      c.whop_api_key = "key_test";
      c.whop_company_id = kCompany;
      c.whop_experience_id = kExperience;
      c.public_url = kPublicUrl;
      if (extra) extra(c);
    };
    app = std::make_unique<test::TestApp>(o);
    whop.set_webhook_target(app->webhook_url());
  }

  app::App& a() { return app->app(); }
  int drain() { return app->drain(); }
  /// Processes the stored events and runs no job: what a runner pass does before it claims (a
  /// case opened with its first reminder due has its nudge job already). Returns the events taken.
  int process() {
    auto out =
        service::process_pending(a().services(), {[this] { return a().settings(); }, {}}, 100);
    REQUIRE(out);
    return out->events;
  }

  /// Delivers a webhook signed at the app's (manual) time; returns the HTTP status.
  int deliver(const json& ev) {
    test::DeliveryOptions o;
    o.timestamp_offset_s = (clock.now_ms() / 1000) - std::time(nullptr);
    o.retry = false;
    return whop.deliver(ev, o).status;
  }

  static test::FakeWhop::PaymentSpec spec(const std::string& membership_id, int64_t time_ms,
                                          const std::string& payment_id = "") {
    test::FakeWhop::PaymentSpec s;
    s.membership_id = membership_id;
    s.payment_id = payment_id.empty() ? "pay_" + membership_id.substr(4) : payment_id;
    s.time_ms = time_ms;
    return s;
  }

  /// Delivers payment.failed for `membership_id` at `time_ms` (its own user when not the default).
  int fail(const std::string& membership_id, int64_t time_ms) {
    auto s = spec(membership_id, time_ms);
    if (membership_id != kMembership) s.user_id = "user_" + membership_id.substr(4);
    return deliver(test::FakeWhop::payment_event("payment.failed", s));
  }

  std::vector<store::CaseRow> cases(const std::string& membership_id = kMembership) {
    auto db = a().reads().lease();
    return store::list_cases_for_membership(*db, membership_id);
  }
  /// The membership's only case (fails the test when there is not exactly one).
  store::CaseRow only_case(const std::string& membership_id = kMembership) {
    auto all = cases(membership_id);
    REQUIRE(all.size() == 1);
    return all[0];
  }
  std::vector<store::SendRow> sends(const std::string& case_id) {
    auto db = a().reads().lease();
    return store::list_sends_for_case(*db, case_id);
  }
  /// The state of one nudge send, "" when there is no row.
  std::string send_state(const std::string& case_id, const std::string& attempt,
                         const std::string& channel) {
    for (const auto& s : sends(case_id)) {
      if (s.attempt == attempt && s.channel == channel) return domain::send_state_name(s.state);
    }
    return "";
  }
  std::vector<store::Action> actions(const std::string& case_id, const std::string& type = "") {
    auto db = a().reads().lease();
    std::vector<store::Action> out;
    for (auto& x : store::list_actions_for_case(*db, case_id)) {
      if (type.empty() || x.type == type) out.push_back(std::move(x));
    }
    return out;
  }
  std::string incentive_state(const std::string& case_id) {
    auto db = a().reads().lease();
    auto inc = store::find_incentive(*db, case_id);
    return inc ? domain::incentive_state_name(inc->state) : "";
  }
  /// Jobs of `kind` ("" = any; newest first); with `channel`, only nudges on that channel.
  std::vector<store::Job> jobs(const std::string& kind, const std::string& channel = "") {
    auto db = a().reads().lease();
    std::vector<store::Job> out;
    for (auto& j : store::list_jobs(*db, "", 100000)) {
      if (!kind.empty() && j.kind != kind) continue;
      if (!channel.empty() && !carries(j, channel)) continue;
      out.push_back(std::move(j));
    }
    return out;
  }
  /// True when a nudge job carries `channel` (one job carries a case's channels together; one
  /// queued before that carries one: {"channel":...}).
  static bool carries(const store::Job& j, const std::string& channel) {
    auto p = json::parse(j.payload);
    if (p.contains("channels")) {
      for (const auto& c : p["channels"]) {
        if (c == channel) return true;
      }
      return false;
    }
    return p.value("channel", "") == channel;
  }
  /// True when every job of `kind` ("" = any) is done.
  bool all_done(const std::string& kind = "") {
    for (const auto& j : jobs(kind)) {
      if (j.state != "done") return false;
    }
    return true;
  }
  int64_t count_sql(const std::string& sql) {
    auto db = a().reads().lease();
    SQLite::Statement q(*db, sql);
    q.executeStep();
    return q.getColumn(0).getInt64();
  }

  size_t pushes() { return whop.calls("POST", "/api/v1/notifications").size(); }
  size_t dms() { return whop.calls("POST", "/api/v1/messages").size(); }
  size_t free_day_calls(const std::string& membership_id = kMembership) {
    return whop.calls("POST", "/api/v1/memberships/" + membership_id + "/add_free_days").size();
  }
  /// Calls at the fake that it answered with `status`.
  static size_t answered(const std::vector<test::Call>& calls, int status) {
    size_t n = 0;
    for (const auto& c : calls) n += c.status == status ? 1 : 0;
    return n;
  }

  /// Changes the stored recovery settings (the creator's settings page does the same).
  void settings(const std::function<void(domain::RecoverySettings&)>& change) {
    domain::RecoverySettings s;
    {
      auto db = a().reads().lease();
      s = store::find_recovery_settings(*db, domain::RecoverySettings{});
    }
    change(s);
    REQUIRE(domain::validate(s).empty());
    auto st = a().writer().run(
        [&](SQLite::Database& db) { store::save_recovery_settings(db, s, clock.now_ms()); });
    REQUIRE(st.ok());
  }
};

}  // namespace cs::engine_test
