// Alert conditions (issue 5) as pure functions, and the tracker that makes one notification per
// incident and lets every alert clear itself.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "app/alerts.h"

using namespace cs;
using nlohmann::json;

namespace {

constexpr int64_t kHour = 3600 * 1000LL;
constexpr int64_t kNow = 1'800'000'000'000LL;

app::AlertInputs healthy() {
  app::AlertInputs in;
  in.now = kNow;
  in.serving_since = kNow - 100 * kHour;
  in.open_cases = 3;
  in.last_webhook_at = kNow - kHour;
  in.whop_calls = 100;
  in.whop_failures = 2;
  in.disk_available = 50ull << 30;
  in.disk_total = 100ull << 30;
  return in;
}

std::vector<std::string> codes(const std::vector<http::Alert>& alerts) {
  std::vector<std::string> out;
  for (const auto& a : alerts) out.push_back(a.code);
  return out;
}

}  // namespace

TEST_CASE("alert conditions: each fires on its own and not before its threshold") {
  app::AlertPolicy p;
  CHECK(app::evaluate_alerts(healthy(), p).empty());

  struct Row {
    const char* name;
    std::function<void(app::AlertInputs&)> change;
    std::vector<std::string> expect;
  };
  std::vector<Row> rows = {
      {"webhooks silent 25 h with open cases",
       [](auto& in) { in.last_webhook_at = kNow - 25 * kHour; },
       {"webhooks_silent"}},
      {"webhooks silent 23 h: not yet",
       [](auto& in) { in.last_webhook_at = kNow - 23 * kHour; },
       {}},
      {"silent but no open case: nothing to worry about",
       [](auto& in) {
         in.last_webhook_at = kNow - 100 * kHour;
         in.open_cases = 0;
       },
       {}},
      {"never a webhook, serving for 30 h with open cases",
       [](auto& in) {
         in.last_webhook_at.reset();
         in.serving_since = kNow - 30 * kHour;
       },
       {"webhooks_silent"}},
      {"Whop 11% failing", [](auto& in) { in.whop_failures = 11; }, {"whop_failing"}},
      {"Whop exactly 10%: not more than 10%", [](auto& in) { in.whop_failures = 10; }, {}},
      {"Whop 5 of 5 failing but too few calls to judge",
       [](auto& in) {
         in.whop_calls = 5;
         in.whop_failures = 5;
       },
       {}},
      {"a dead job", [](auto& in) { in.dead_jobs = 1; }, {"dead_jobs"}},
      {"the last backup failed",
       [](auto& in) {
         in.backup_failed = true;
         in.backup_error = "disk I/O error";
       },
       {"backup_failed"}},
      {"disk 9% free", [](auto& in) { in.disk_available = 9ull << 30; }, {"disk_low"}},
      {"big disk, 40% free but under the 512 MiB floor",
       [](auto& in) {
         in.disk_total = 1ull << 30;
         in.disk_available = 400ull << 20;
       },
       {"disk_low"}},
  };
  for (const auto& r : rows) {
    INFO(std::string(r.name));
    auto in = healthy();
    r.change(in);
    CHECK(codes(app::evaluate_alerts(in, p)) == r.expect);
  }

  // Messages say what to do and never carry personal data.
  auto in = healthy();
  in.last_webhook_at = kNow - 30 * kHour;
  auto a = app::evaluate_alerts(in, p);
  REQUIRE(a.size() == 1);
  CHECK(a[0].message.find("30 hours") != std::string::npos);
  CHECK(a[0].message.find("3 case(s)") != std::string::npos);
}

TEST_CASE(
    "alert tracker: one notification per incident, clearing notified once, survives restart") {
  app::AlertTracker t;
  std::vector<std::string> posted;
  bool deliver = true;
  auto post = [&](const std::string& body) {
    if (!deliver) return false;
    posted.push_back(json::parse(body)["text"].get<std::string>());
    return true;
  };
  http::Alert dead{"dead_jobs", "warning", "2 job(s) gave up", 0};

  auto ch = t.update({dead}, kNow);
  REQUIRE(ch.size() == 1);
  CHECK(ch[0].raised);
  CHECK(t.notify(post, "vps1"));
  REQUIRE(posted.size() == 1);
  CHECK(posted[0].find("WARNING (dead_jobs)") != std::string::npos);
  CHECK(posted[0].find("vps1") != std::string::npos);

  // Still active a minute later: no new notification, the start time is kept.
  CHECK(t.update({dead}, kNow + 60000).empty());
  CHECK_FALSE(t.notify(post, "vps1"));
  CHECK(posted.size() == 1);
  CHECK(t.active().at(0).since_ms == kNow);

  // A restart in the middle of the incident does not notify it again.
  app::AlertTracker restarted;
  restarted.from_json(t.to_json());
  CHECK(restarted.update({dead}, kNow + 120000).empty());
  CHECK_FALSE(restarted.notify(post, "vps1"));
  CHECK(posted.size() == 1);

  // The condition goes away: the alert clears itself and the URL hears it once.
  ch = restarted.update({}, kNow + 2 * kHour);
  REQUIRE(ch.size() == 1);
  CHECK_FALSE(ch[0].raised);
  CHECK(restarted.active().empty());
  CHECK(restarted.notify(post, "vps1"));
  REQUIRE(posted.size() == 2);
  CHECK(posted[1].find("resolved (dead_jobs) after 2 hours") != std::string::npos);
  CHECK_FALSE(restarted.notify(post, "vps1"));

  // A URL that is down: the raise is retried until delivered, still once.
  app::AlertTracker u;
  u.update({dead}, kNow);
  deliver = false;
  CHECK_FALSE(u.notify(post, ""));
  deliver = true;
  CHECK(u.notify(post, ""));
  CHECK_FALSE(u.notify(post, ""));
  CHECK(posted.size() == 3);
}

TEST_CASE("alert body is Slack- and Discord-compatible JSON") {
  http::Alert a{"disk_low", "critical", "The disk is nearly full.", kNow};
  auto body = json::parse(app::alert_body(a, true, "host"));
  CHECK(body["text"] == body["content"]);
  CHECK(body["text"].get<std::string>().find("CRITICAL (disk_low): The disk is nearly full.") !=
        std::string::npos);
}
