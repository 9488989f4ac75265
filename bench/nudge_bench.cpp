// Benchmark target 2 of shared/PERFORMANCE.md: webhook to first nudge. From the 200 of a signed
// payment.failed to the fake Whop receiving the T+0 push (POST /notifications): p50/p90/p99/max.
//
// Runs the real churn-saver binary as a subprocess (scheduler interval 60 s: the first nudge must
// come from the processor waking the scheduler, not from the timer) with an in-process fake Whop
// as its API, and sends webhooks for distinct memberships at a modest, fixed pace. The fake
// timestamps each call as it arrives (set_call_observer). See bench/README.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "domain/time.h"
#include "support/fake_whop.h"
#include "support/server_process.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using cs::test::kTestSecret;
using nlohmann::json;

constexpr const char* kApiKey = "key_bench";
constexpr int64_t kDayMs = 86400000;

using cs::test::read_file;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

using cs::test::ServerProcess;

struct Stats {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  };
  s.p50 = at(0.50);
  s.p90 = at(0.90);
  s.p99 = at(0.99);
  s.max = v.back();
  return s;
}

void print_row(const char* what, const Stats& s) {
  std::printf("%-34s %6zu %9.2f %9.2f %9.2f %9.2f\n", what, s.n, s.p50, s.p90, s.p99, s.max);
}

/// "/api/v1/memberships/mem_x/add_free_days" -> "/memberships/{id}/add_free_days".
std::string route_of(const std::string& path) {
  std::string p = path.rfind("/api/v1", 0) == 0 ? path.substr(7) : path;
  const std::string m = "/memberships/";
  if (p.rfind(m, 0) == 0) {
    auto end = p.find('/', m.size());
    p = m + "{id}" + (end == std::string::npos ? "" : p.substr(end));
  }
  return p;
}

size_t count_in_log(const std::string& log, const std::string& needle) {
  size_t n = 0;
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 300;
  double rate = 4;
  bool keep = false;
  std::vector<std::string> extra_env;
  CLI::App cli{
      "Webhook to first nudge (shared/PERFORMANCE.md target 2): from the 200 of a "
      "payment.failed to the fake Whop receiving the T+0 push."};
  cli.add_option("--count", count, "webhooks, one membership each (default 300)");
  cli.add_option("--rate", rate,
                 "webhooks per second (default 4: each one costs 2 get_membership calls, and the "
                 "client allows 540 per minute per operation)");
  cli.add_option("--env", extra_env, "KEY=VALUE for the server's environment (repeatable)");
  cli.add_flag("--keep", keep, "keep the temp directory (database, server log)");
  CLI11_PARSE(cli, argc, argv);
  if (count < 1 || rate <= 0) {
    std::fprintf(stderr, "--count must be >= 1 and --rate > 0\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);

  auto dir = std::make_unique<cs::test::TempDir>();
  cs::test::FakeWhop whop(kTestSecret, kApiKey);
  const int64_t now = wall_ms();
  for (int i = 0; i < count; ++i) {
    std::string id = "mem_B" + std::to_string(i);
    whop.put_membership({{"id", id},
                         {"status", "past_due"},
                         {"manage_url", "https://whop.com/billing/manage/" + id},
                         {"renewal_period_end", cs::domain::format_iso8601_ms(now + 3 * kDayMs)},
                         {"updated_at", cs::domain::format_iso8601_ms(now)},
                         {"user", {{"id", "user_B" + std::to_string(i)}}},
                         {"company", {{"id", "biz_Qw12Er34Ty56Ui"}}}});
  }

  // Arrival time of the first push per user, taken by the fake as the call arrives.
  std::mutex mu;
  std::map<std::string, Clock::time_point> push_at;
  whop.set_call_observer([&](const cs::test::Call& c) {
    auto t = Clock::now();
    if (c.method != "POST" || c.path != "/api/v1/notifications") return;
    auto b = json::parse(c.body, nullptr, false);
    if (!b.is_object() || !b.contains("user_ids") || !b["user_ids"].is_array()) return;
    std::lock_guard lk(mu);
    push_at.emplace(b["user_ids"][0].get<std::string>(), t);
  });

  std::vector<std::string> env = {std::string("CHURN_SAVER_WHOP_WEBHOOK_SECRET=") + kTestSecret,
                                  "CHURN_SAVER_WHOP_API_BASE=" + whop.api_base(),
                                  std::string("CHURN_SAVER_WHOP_API_KEY=") + kApiKey,
                                  "CHURN_SAVER_WHOP_COMPANY_ID=biz_Qw12Er34Ty56Ui",
                                  "CHURN_SAVER_WHOP_EXPERIENCE_ID=exp_Bench123",
                                  "CHURN_SAVER_PUBLIC_URL=https://recover.example.com",
                                  "CHURN_SAVER_SCHEDULER_INTERVAL=60",
                                  "CHURN_SAVER_LOG_LEVEL=info"};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  const std::string log_path = dir->file("server.log");
  ServerProcess server(dir->file("cs.db"), log_path, env);
  server.start();
  if (!server.wait_ready("/healthz")) {
    throw std::runtime_error("server not ready:\n" + cs::test::tail(server.log()));
  }

  httplib::Client client("127.0.0.1", server.port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_read_timeout(10, 0);

  // Paced sender: webhook i is due at t0 + i/rate (sent at once when late); one keep-alive
  // connection; the 200's arrival is the start of the measured interval.
  std::vector<Clock::time_point> acked(static_cast<size_t>(count));
  std::vector<double> ack_ms;
  std::vector<int> failed_status;
  const auto period = std::chrono::duration<double>(1.0 / rate);
  const auto t0 = Clock::now();
  for (int i = 0; i < count; ++i) {
    auto due = t0 + std::chrono::duration_cast<Clock::duration>(period * i);
    std::this_thread::sleep_until(due);
    cs::test::FakeWhop::PaymentSpec spec;
    spec.membership_id = "mem_B" + std::to_string(i);
    spec.user_id = "user_B" + std::to_string(i);
    spec.payment_id = "pay_B" + std::to_string(i);
    spec.time_ms = wall_ms();
    auto ev = cs::test::FakeWhop::payment_event("payment.failed", spec);
    std::string id = ev["id"];
    std::string body = ev.dump();
    auto sent = Clock::now();
    auto res = client.Post("/webhooks/whop", cs::test::v1_headers(kTestSecret, id, body), body,
                           "application/json");
    acked[static_cast<size_t>(i)] = Clock::now();
    if (!res || res->status != 200) {
      failed_status.push_back(res ? res->status : 0);
      continue;
    }
    ack_ms.push_back(ms_between(sent, acked[static_cast<size_t>(i)]));
  }
  const double send_s = ms_between(t0, Clock::now()) / 1000;

  // Wait (bounded) for every T+0 push.
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    {
      std::lock_guard lk(mu);
      if (push_at.size() >= static_cast<size_t>(count)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // let DMs and grants finish

  std::vector<double> push_ms;
  size_t missing = 0;
  {
    std::lock_guard lk(mu);
    for (int i = 0; i < count; ++i) {
      auto it = push_at.find("user_B" + std::to_string(i));
      if (it == push_at.end()) {
        ++missing;
        continue;
      }
      push_ms.push_back(ms_between(acked[static_cast<size_t>(i)], it->second));
    }
  }

  server.signal_and_reap(SIGTERM);
  std::string log = read_file(log_path);

  std::printf(
      "nudge_bench: %d payment.failed webhooks at %.1f/s (%.1f s), scheduler interval 60 s\n",
      count, rate, send_s);
  std::printf("%-34s %6s %9s %9s %9s %9s\n", "ms", "n", "p50", "p90", "p99", "max");
  print_row("webhook answered (send -> 200)", stats_of(ack_ms));
  auto push = stats_of(push_ms);
  print_row("webhook 200 -> T+0 push at fake", push);
  std::printf("missing pushes %zu, non-200 webhooks %zu\n", missing, failed_status.size());
  std::map<std::string, size_t> by_route;
  for (const auto& c : whop.calls()) by_route[c.method + " " + route_of(c.path)]++;
  std::printf("calls at the fake:");
  for (const auto& [route, n] : by_route) std::printf("  %s=%zu", route.c_str(), n);
  std::printf("\nserver log: %zu 'job failed', %zu locally throttled, %zu whop 429\n",
              count_in_log(log, "\"msg\":\"job failed\""),
              count_in_log(log, "rate_limited_locally"), count_in_log(log, "\"http_429\""));
  std::printf("nudge_p50_ms %.2f  nudge_p90_ms %.2f  nudge_p99_ms %.2f  nudge_max_ms %.2f\n",
              push.p50, push.p90, push.p99, push.max);
  if (keep) {
    std::printf("kept %s\n", dir->path().c_str());
    dir.release();
  }
  return 0;
}
