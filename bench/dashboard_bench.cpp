// Benchmark, PERFORMANCE.md target 3: the dashboard at 1,000,000 events and 100,000 cases.
//   dashboard_bench [--cases N] [--events-per-case K] [--requests R] [--db FILE]
// Seeds a database (or reuses --db when it already has the cases), starts the real server on it,
// signs in, and measures p50/p95 of: overview (7, 30 and 90 days), the cases list filtered by
// status (first page, a deep keyset page, a search), one case's page; then the CSV export of all
// cases (time, rows, and resident memory sampled while it streams, against a 10% export). The
// /healthz no-op in the same run is the reference. Prints figures; asserts nothing.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "store/auth.h"
#include "store/db.h"
#include "store/migrations.h"
#include "support/test_app.h"
#include "util/password.h"

using namespace cs;
using Clock_ = std::chrono::steady_clock;

namespace {

constexpr int64_t kDay = 86400000;

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

std::string hex32(uint64_t a, uint64_t b) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

void seed(const std::string& path, int cases, int events_per_case, int64_t now) {
  auto db = store::open_connection(path, store::ConnectionRole::Writer);
  if (!store::migrate_up(*db)) throw std::runtime_error("migrate failed");
  db->exec("PRAGMA synchronous=OFF");
  std::mt19937_64 rng(42);
  const char* statuses[] = {"open", "recovered", "lost", "cancelled"};
  SQLite::Transaction tx(*db);
  SQLite::Statement ic(*db,
                       "INSERT INTO cases (id, membership_id, user_id, username, product_title, "
                       "status, resolution, first_failure_at, last_failure_at, failures, "
                       "amount_due_cents, currency, resolved_at, recovered_cents, refunded_cents, "
                       "created_at, updated_at, incentive_state, incentive_days, clicks, "
                       "first_click_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  SQLite::Statement ie(*db,
                       "INSERT INTO events (webhook_id, type, event_time, received_at, "
                       "membership_id, payment_id, user_id, amount_cents, currency, payload, "
                       "process_state) VALUES (?,?,?,?,?,?,?,?,?,zeroblob(300),'processed')");
  SQLite::Statement ia(*db,
                       "INSERT INTO recovery_actions (case_id, at, type, channel, attempt, actor, "
                       "outcome) VALUES (?,?,?,?,?,'system','sent')");
  SQLite::Statement is(*db,
                       "INSERT INTO nudge_sends (case_id, attempt, channel, state, created_at, "
                       "updated_at) VALUES (?,?,?,'sent',?,?)");
  const char* types[] = {"payment.failed", "payment.failed", "payment.succeeded",
                         "membership.deactivated", "payment.pending"};
  int64_t event_no = 0;
  for (int i = 0; i < cases; ++i) {
    std::string id = hex32(rng(), rng());
    std::string mem = "mem_" + id.substr(0, 14);
    std::string user = "user_" + id.substr(14, 12);
    std::string username = "member_" + id.substr(20, 8);
    int64_t first = now - static_cast<int64_t>(rng() % (180 * kDay));
    int r = static_cast<int>(rng() % 100);
    const char* status = first > now - 14 * kDay && r < 60 ? statuses[0]
                         : r < 45                          ? statuses[1]
                         : r < 95                          ? statuses[2]
                                                           : statuses[3];
    bool recovered = std::string(status) == "recovered";
    int64_t amount = 500 + static_cast<int64_t>(rng() % 20000);
    int64_t resolved = first + static_cast<int64_t>(rng() % (14 * kDay));
    int k = 1;
    ic.bind(k++, id);
    ic.bind(k++, mem);
    ic.bind(k++, user);
    ic.bind(k++, username);
    ic.bind(k++, "Pro Community");
    ic.bind(k++, status);
    // Lost cases expired (the window passed), as the app marks them ("paid after the window").
    ic.bind(k++, recovered                            ? "payment"
                 : std::string(status) == "lost"      ? "expired"
                 : std::string(status) == "cancelled" ? "admin"
                                                      : "");
    ic.bind(k++, first);
    ic.bind(k++, first);
    ic.bind(k++, 1);
    ic.bind(k++, amount);
    ic.bind(k++, "usd");
    if (std::string(status) == "open") {
      ic.bind(k++);
    } else {
      ic.bind(k++, resolved);
    }
    ic.bind(k++, recovered ? amount : 0);
    ic.bind(k++, recovered && r % 10 == 0 ? amount / 2 : 0);
    ic.bind(k++, first);
    ic.bind(k++, first);
    ic.bind(k++, recovered && r % 3 == 0 ? "granted" : "");
    ic.bind(k++, recovered && r % 3 == 0 ? 3 : 0);
    ic.bind(k++, recovered ? 1 : 0);
    if (recovered) {
      ic.bind(k++, resolved - 3600000);
    } else {
      ic.bind(k++);
    }
    ic.exec();
    ic.reset();
    for (int e = 0; e < events_per_case; ++e) {
      ie.bind(1, "msg_bench" + std::to_string(event_no++));
      ie.bind(2, types[e % 5]);
      int64_t t = first + e * 3600000LL;
      ie.bind(3, t);
      ie.bind(4, t + 500);
      ie.bind(5, mem);
      ie.bind(6, "pay_" + id.substr(0, 10) + std::to_string(e));
      ie.bind(7, user);
      ie.bind(8, amount);
      ie.bind(9, "usd");
      ie.exec();
      ie.reset();
    }
    for (int a = 0; a < 2; ++a) {
      ia.bind(1, id);
      ia.bind(2, first + a * 2 * kDay);
      ia.bind(3, "nudge_sent");
      ia.bind(4, a % 2 ? "dm" : "push");
      ia.bind(5, a);
      ia.exec();
      ia.reset();
      is.bind(1, id);
      is.bind(2, std::to_string(a));
      is.bind(3, a % 2 ? "dm" : "push");
      is.bind(4, first + a * 2 * kDay);
      is.bind(5, first + a * 2 * kDay);
      is.exec();
      is.reset();
    }
  }
  tx.commit();
  db->exec("ANALYZE");
}

/// CPU time of the whole process (server and client threads), ms.
double cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

struct Stats {
  double p50 = 0, p95 = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  return {at(0.5), at(0.95), v.back()};
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int cases = 100000, per_case = 10, requests = 200;
  std::string db_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--cases") cases = std::stoi(argv[i + 1]);
    if (a == "--events-per-case") per_case = std::stoi(argv[i + 1]);
    if (a == "--requests") requests = std::stoi(argv[i + 1]);
    if (a == "--db") db_path = argv[i + 1];
  }
  test::TempDir dir;
  if (db_path.empty()) db_path = dir.file("bench.db");
  int64_t now = SystemClock().now_ms();
  {
    bool have = false;
    try {
      auto db = store::open_connection(db_path, store::ConnectionRole::Writer);
      SQLite::Statement q(*db, "SELECT count(*) FROM cases");
      have = q.executeStep() && q.getColumn(0).getInt() >= cases;
    } catch (...) {
    }
    if (!have) {
      auto t0 = Clock_::now();
      seed(db_path, cases, per_case, now);
      std::printf("seeded %d cases, %d events in %.1f s\n", cases, cases * per_case,
                  std::chrono::duration<double>(Clock_::now() - t0).count());
    }
  }
  test::TestApp::Options o;
  o.db_path = db_path;
  o.configure = [](app::Config& c) { c.http_threads = 8; };
  test::TestApp t(o);
  std::string encoded = password::hash("benchmark password 123");
  t.app().writer().run([&](SQLite::Database& db) { store::save_admin_password(db, encoded, now); });

  // Sign in.
  auto c = t.client();
  c.set_keep_alive(true);
  auto login = c.Get("/login");
  std::string lc = login->get_header_value("Set-Cookie");
  lc = lc.substr(0, lc.find(';'));
  std::string token = lc.substr(lc.find('=') + 1);
  auto res = c.Post("/login", {{"Cookie", lc}},
                    httplib::Params{{"csrf_token", token}, {"password", "benchmark password 123"}});
  std::string sc = res->get_header_value("Set-Cookie");
  httplib::Headers auth = {{"Cookie", sc.substr(0, sc.find(';'))}};

  // Pick ids for the case page and the searches, and a deep cursor.
  std::string case_id, username, deep_cursor;
  {
    auto db = t.app().reads().lease();
    SQLite::Statement q(*db, "SELECT id, username FROM cases ORDER BY id LIMIT 1 OFFSET 777");
    q.executeStep();
    case_id = q.getColumn(0).getString();
    username = q.getColumn(1).getString();
  }
  {
    auto page = c.Get("/api/dashboard/cases?status=lost&limit=200", auth);
    std::smatch m;
    static const std::regex re("\"next_cursor\":\"([^\"]+)\"");
    std::string body = page->body;
    for (int i = 0; i < 10 && std::regex_search(body, m, re); ++i) {
      deep_cursor = m[1].str();
      body =
          c.Get(("/api/dashboard/cases?status=lost&limit=200&cursor=" + deep_cursor).c_str(), auth)
              ->body;
    }
  }

  struct Target {
    std::string name, path;
  };
  std::vector<Target> targets = {
      {"healthz (reference)", "/healthz"},
      {"overview 7 days", "/?window=7"},
      {"overview 30 days", "/?window=30"},
      {"overview 90 days", "/?window=90"},
      {"cases status=open", "/cases?status=open"},
      {"cases status=lost, page 11", "/cases?status=lost&cursor=" + deep_cursor},
      {"cases sort=amount", "/cases?sort=amount"},
      {"cases search username", "/cases?q=" + username.substr(0, 10)},
      {"case detail", "/cases/" + case_id},
      {"api kpis 30", "/api/dashboard/kpis?window=30"},
  };
  std::printf(
      "\n%-30s %8s %8s %8s %8s  (ms; %d requests each, keep-alive; cpu = process CPU "
      "time per request, robust on a loaded machine)\n",
      "page", "p50", "p95", "max", "cpu", requests);
  for (const auto& tg : targets) {
    std::vector<double> ms;
    double cpu0 = cpu_ms();
    for (int i = 0; i < requests; ++i) {
      auto t0 = Clock_::now();
      auto r = c.Get(tg.path.c_str(), auth);
      double d = std::chrono::duration<double, std::milli>(Clock_::now() - t0).count();
      if (!r || (r->status != 200 && r->status != 429)) {
        std::printf("%s: status %d\n", tg.name.c_str(), r ? r->status : -1);
        return 1;
      }
      ms.push_back(d);
    }
    double cpu = (cpu_ms() - cpu0) / requests;
    auto s = stats(ms);
    std::printf("%-30s %8.2f %8.2f %8.2f %8.2f\n", tg.name.c_str(), s.p50, s.p95, s.max, cpu);
  }

  // Export: all cases, and a filtered 10% (cancelled + a status) for the memory comparison.
  auto export_run = [&](const std::string& path) {
    std::atomic<bool> done{false};
    long peak = 0, start = rss_kb();
    std::thread sampler([&] {
      while (!done) {
        peak = std::max(peak, rss_kb());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    size_t bytes = 0, rows = 0;
    auto t0 = Clock_::now();
    auto ec = t.client();
    ec.set_read_timeout(60);
    auto r = ec.Get(path.c_str(), auth, [&](const char* data, size_t n) {
      bytes += n;
      rows += static_cast<size_t>(std::count(data, data + n, '\n'));
      return true;
    });
    double secs = std::chrono::duration<double>(Clock_::now() - t0).count();
    done = true;
    sampler.join();
    std::printf("%-30s %8.2f s  %8zu rows  %6.1f MB  rss start %ld MB, peak +%ld MB (status %d)\n",
                path.c_str(), secs, rows - 1, static_cast<double>(bytes) / 1e6, start / 1024,
                (peak - start) / 1024, r ? r->status : -1);
  };
  std::printf("\nCSV export (streamed)\n");
  export_run("/cases/export.csv?status=cancelled");
  export_run("/cases/export.csv");
  export_run("/cases/export.csv");
  return 0;
}
