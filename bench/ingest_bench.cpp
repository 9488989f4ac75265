// Benchmark target 1 of shared/PERFORMANCE.md: signed, verified, durably committed, deduplicated
// webhook ingestion, as a ratio against the same server's no-op endpoint measured in the same run;
// latency at half that load; memory footprint; database bytes per stored event.
//
// Runs the real churn-saver binary as a subprocess on a fresh temp database and drives it over
// keep-alive connections (TCP_NODELAY on both sides). See bench/README.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "support/fake_whop.h"
#include "support/server_process.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using cs::test::kTestSecret;

using cs::test::read_file;

/// Starts the server and waits for /healthz; milliseconds from fork to the first 200.
double start_and_wait(cs::test::ServerProcess& server) {
  server.start();
  if (!server.wait_ready("/healthz")) {
    throw std::runtime_error("server not ready:\n" + cs::test::tail(server.log()));
  }
  return server.ready_ms();
}

int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

/// A field of /proc/<pid>/status in kB ("VmRSS", "VmHWM"); -1 when unreadable.
int64_t proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

/// utime + stime of a process in seconds.
double proc_cpu_s(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(close_paren + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

using cs::test::ServerProcess;

httplib::Client make_client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(10, 0);
  c.set_write_timeout(10, 0);
  return c;
}

/// One ready-to-send delivery.
struct Delivery {
  httplib::Headers headers;
  std::string body;
};

/// Makes unique signed payment.failed deliveries from one body template: the webhook-id (also the
/// envelope "id"), payment id, membership id and its member's user id, name, email and username
/// are fixed-width fields patched in place. Each membership has its own member: with one user for
/// all 5,000 memberships, every event's win-back lookup (other memberships of the same user and
/// product) read every stored event, and with one name and email the search index wrote the same
/// few fragments again and again, which a creator's real members do not.
class DeliveryFactory {
 public:
  DeliveryFactory() {
    cs::test::FakeWhop::PaymentSpec spec;
    spec.payment_id = std::string("pay_") + std::string(kPayWidth, '#');
    spec.membership_id = std::string("mem_") + std::string(kMemWidth, '%');
    spec.user_id = std::string("user_") + std::string(kMemWidth, '^');
    spec.name = std::string(kNameWidth, '~');
    spec.email = std::string(kNameWidth, '`') + "@example.com";
    spec.username = std::string(kNameWidth, '|');
    auto ev = cs::test::FakeWhop::payment_event("payment.failed", spec);
    ev["id"] = std::string("msg_") + std::string(kIdWidth, '@');
    body_ = ev.dump();
    id_at_ = body_.find(std::string(kIdWidth, '@'));
    pay_at_ = body_.find(std::string(kPayWidth, '#'));
    mem_at_ = body_.find(std::string(kMemWidth, '%'));
    user_at_ = body_.find(std::string(kMemWidth, '^'));
    name_at_ = body_.find(std::string(kNameWidth, '~'));
    email_at_ = body_.find(std::string(kNameWidth, '`'));
    username_at_ = body_.find(std::string(kNameWidth, '|'));
    if (id_at_ == std::string::npos || pay_at_ == std::string::npos ||
        mem_at_ == std::string::npos || user_at_ == std::string::npos ||
        name_at_ == std::string::npos || email_at_ == std::string::npos ||
        username_at_ == std::string::npos) {
      throw std::logic_error("body template lacks a placeholder");
    }
  }

  /// A fresh delivery signed at `ts`. Thread-safe (the sequence is atomic).
  Delivery make(int64_t ts) {
    uint64_t n = seq_.fetch_add(1);
    std::string body = body_;
    put_digits(body, id_at_, kIdWidth, n);
    put_digits(body, pay_at_, kPayWidth, n);
    put_digits(body, mem_at_, kMemWidth, n % 5000);   // failures spread over 5,000 memberships
    put_digits(body, user_at_, kMemWidth, n % 5000);  // each with its own user
    put_letters(body, name_at_, n % 5000, 1);         // and its own name, email, username
    put_letters(body, email_at_, n % 5000, 2);
    put_letters(body, username_at_, n % 5000, 3);
    std::string id = body.substr(id_at_ - 4, kIdWidth + 4);
    Delivery d{cs::test::v1_headers(kTestSecret, id, body, ts), std::move(body)};
    return d;
  }

  size_t body_size() const { return body_.size(); }

 private:
  static constexpr size_t kIdWidth = 24, kPayWidth = 16, kMemWidth = 16, kNameWidth = 12;
  /// kNameWidth letters that look random, the same for the same member and field.
  static void put_letters(std::string& s, size_t at, uint64_t member, uint64_t field) {
    uint64_t x = (member + 1) * 0x9E3779B97F4A7C15ULL ^ field * 0xBF58476D1CE4E5B9ULL;
    for (size_t i = 0; i < kNameWidth; ++i) {
      x ^= x >> 31;
      x *= 0x94D049BB133111EBULL;
      x ^= x >> 29;
      s[at + i] = static_cast<char>('a' + x % 26);
    }
  }
  static void put_digits(std::string& s, size_t at, size_t width, uint64_t n) {
    for (size_t i = 0; i < width; ++i) {
      s[at + width - 1 - i] = static_cast<char>('0' + n % 10);
      n /= 10;
    }
  }
  std::string body_;
  size_t id_at_ = 0, pay_at_ = 0, mem_at_ = 0, user_at_ = 0, name_at_ = 0, email_at_ = 0,
         username_at_ = 0;
  std::atomic<uint64_t> seq_{0};
};

struct PhaseResult {
  uint64_t ok = 0;          // 200 answers
  uint64_t bad_status = 0;  // any other status
  uint64_t no_answer = 0;   // transport errors
  uint64_t made_late = 0;   // deliveries signed on the fly (precomputed ones ran out)
  double seconds = 0;
  double server_cpu_s = 0;
  std::vector<int> statuses;  // a few of the non-200 statuses seen
  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
};

/// Closed loop, max rate: each connection sends the next request as soon as it has the answer.
PhaseResult run_closed(const ServerProcess& server, int connections, double seconds, bool ingest,
                       std::vector<std::vector<Delivery>>* prepared, DeliveryFactory* factory) {
  std::vector<PhaseResult> per(static_cast<size_t>(connections));
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  Clock::time_point end;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto client = make_client(server.port());
      // Open the connection before the clock starts.
      client.Get("/healthz");
      auto& r = per[static_cast<size_t>(c)];
      std::vector<Delivery>* mine = prepared ? &(*prepared)[static_cast<size_t>(c)] : nullptr;
      size_t next = 0;
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (Clock::now() < end) {
        Delivery late;
        const Delivery* d = nullptr;
        if (ingest) {
          if (mine && next < mine->size()) {
            d = &(*mine)[next++];
          } else {
            late = factory->make(std::time(nullptr));
            d = &late;
            ++r.made_late;
          }
        }
        auto res = d ? client.Post("/webhooks/whop", d->headers, d->body, "application/json")
                     : client.Get("/healthz");
        if (!res) {
          ++r.no_answer;
        } else if (res->status == 200) {
          ++r.ok;
        } else {
          ++r.bad_status;
          if (r.statuses.size() < 5) r.statuses.push_back(res->status);
        }
      }
    });
  }
  // Give every thread a moment to connect, then start the clock for all at once.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  double cpu0 = proc_cpu_s(server.pid());
  auto start = Clock::now();
  end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  PhaseResult total;
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  total.server_cpu_s = proc_cpu_s(server.pid()) - cpu0;
  for (const auto& r : per) {
    total.ok += r.ok;
    total.bad_status += r.bad_status;
    total.no_answer += r.no_answer;
    total.made_late += r.made_late;
    for (int s : r.statuses) {
      if (total.statuses.size() < 5) total.statuses.push_back(s);
    }
  }
  return total;
}

struct LatencyResult {
  PhaseResult phase;
  std::vector<double> service_ms;   // send -> answer
  std::vector<double> schedule_ms;  // intended send time -> answer (no coordinated omission)
};

/// Paced: each connection sends on a fixed schedule of `rate / connections` per second (offset
/// per connection); a late request goes out at once and its lateness counts in schedule_ms.
LatencyResult run_paced(const ServerProcess& server, int connections, double seconds, double rate,
                        std::vector<std::vector<Delivery>>& prepared, DeliveryFactory& factory) {
  const double per_conn = rate / connections;
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_conn));
  std::vector<LatencyResult> per(static_cast<size_t>(connections));
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  Clock::time_point start, end;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto client = make_client(server.port());
      client.Get("/healthz");
      auto& r = per[static_cast<size_t>(c)];
      auto& mine = prepared[static_cast<size_t>(c)];
      size_t next = 0;
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      auto due = start + interval * c / connections;
      while (due < end) {
        std::this_thread::sleep_until(due);
        Delivery late;
        const Delivery* d;
        if (next < mine.size()) {
          d = &mine[next++];
        } else {
          late = factory.make(std::time(nullptr));
          d = &late;
          ++r.phase.made_late;
        }
        auto sent = Clock::now();
        auto res = client.Post("/webhooks/whop", d->headers, d->body, "application/json");
        auto got = Clock::now();
        if (!res) {
          ++r.phase.no_answer;
        } else if (res->status == 200) {
          ++r.phase.ok;
          r.service_ms.push_back(std::chrono::duration<double, std::milli>(got - sent).count());
          r.schedule_ms.push_back(std::chrono::duration<double, std::milli>(got - due).count());
        } else {
          ++r.phase.bad_status;
          if (r.phase.statuses.size() < 5) r.phase.statuses.push_back(res->status);
        }
        due += interval;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  double cpu0 = proc_cpu_s(server.pid());
  start = Clock::now();
  end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  LatencyResult total;
  total.phase.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  total.phase.server_cpu_s = proc_cpu_s(server.pid()) - cpu0;
  for (auto& r : per) {
    total.phase.ok += r.phase.ok;
    total.phase.bad_status += r.phase.bad_status;
    total.phase.no_answer += r.phase.no_answer;
    total.phase.made_late += r.phase.made_late;
    for (int s : r.phase.statuses) total.phase.statuses.push_back(s);
    total.service_ms.insert(total.service_ms.end(), r.service_ms.begin(), r.service_ms.end());
    total.schedule_ms.insert(total.schedule_ms.end(), r.schedule_ms.begin(), r.schedule_ms.end());
  }
  std::sort(total.service_ms.begin(), total.service_ms.end());
  std::sort(total.schedule_ms.begin(), total.schedule_ms.end());
  return total;
}

/// `total` fresh deliveries, split over `connections`, all signed now.
std::vector<std::vector<Delivery>> prepare(DeliveryFactory& factory, int connections,
                                           size_t total) {
  std::vector<std::vector<Delivery>> out(static_cast<size_t>(connections));
  const size_t each = total / static_cast<size_t>(connections) + 1;
  const int64_t ts = std::time(nullptr);
  for (auto& v : out) {
    v.reserve(each);
    for (size_t i = 0; i < each; ++i) v.push_back(factory.make(ts));
  }
  return out;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()))) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string errors_note(const PhaseResult& r) {
  if (r.bad_status == 0 && r.no_answer == 0) return "";
  std::string s = "  [non-200: " + std::to_string(r.bad_status) + " (";
  for (size_t i = 0; i < r.statuses.size(); ++i)
    s += (i ? "," : "") + std::to_string(r.statuses[i]);
  s += "), no answer: " + std::to_string(r.no_answer) + "]";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "ingest_bench: webhook ingest vs no-op rate, latency, footprint (PERFORMANCE.md #1)"};
  int rounds = 5;
  double seconds = 3;
  int connections = 16;
  double latency_seconds = 5;
  bool keep = false;
  std::string existing_db;
  std::vector<std::string> extra_env;
  cli.add_option("--rounds", rounds, "alternating no-op/ingest rounds (default 5)")
      ->check(CLI::Range(1, 100));
  cli.add_option("--seconds", seconds, "seconds per phase (default 3)")
      ->check(CLI::Range(0.2, 600.0));
  cli.add_option("--connections", connections, "keep-alive connections (default 16)")
      ->check(CLI::Range(1, 256));
  cli.add_option("--latency-seconds", latency_seconds,
                 "seconds of the paced latency phase (default 5)")
      ->check(CLI::Range(0.5, 600.0));
  cli.add_option("--env", extra_env,
                 "KEY=VALUE added to the server's environment (repeatable), e.g. "
                 "CHURN_SAVER_DISABLE_PROCESSING=1 to measure ingest alone");
  cli.add_flag("--keep", keep, "keep the temp directory (database, server log)");
  cli.add_option("--db", existing_db,
                 "run on this existing database (e.g. one made by seed_events) instead of a new "
                 "one; the server's log stays in the temp directory");
  CLI11_PARSE(cli, argc, argv);
  ::signal(SIGPIPE, SIG_IGN);

  try {
    auto dir = std::make_unique<cs::test::TempDir>();
    const std::string db = existing_db.empty() ? dir->file("cs.db") : existing_db;
    const std::string log = dir->file("server.log");
    // The daily maintenance (a backup 30 s after start, and on a seeded database a first
    // retention pass over a year of events) is not part of ingest: off, so that it neither runs
    // into the timed phases nor copies a 10 GB database into the bench directory.
    std::vector<std::string> env = {"CHURN_SAVER_LOG_LEVEL=info", "CHURN_SAVER_BACKUP_DIR=off",
                                    "CHURN_SAVER_RETENTION_PAYLOAD_DAYS=3650",
                                    "CHURN_SAVER_RETENTION_EVENT_DAYS=3650",
                                    "CHURN_SAVER_RETENTION_CASE_DAYS=3650"};
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    ServerProcess server(db, log, env);
    double ready_fresh_ms = start_and_wait(server);
    DeliveryFactory factory;

    std::printf("ingest_bench: %s\n", CS_BINARY);
    std::printf("temp dir %s, %d connections, %d rounds x %.1f s per phase, body %zu bytes\n",
                dir->path().c_str(), connections, rounds, seconds, factory.body_size());
    std::printf("server ready %.1f ms after fork (%s database)\n", ready_fresh_ms,
                existing_db.empty() ? "fresh" : existing_db.c_str());
    std::printf("daily maintenance off: no backup, retention at 3650 days\n");
    for (const auto& e : extra_env) std::printf("server environment: %s\n", e.c_str());

    // Idle footprint: after start, before any load.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int64_t rss_idle_kb = proc_status_kb(server.pid(), "VmRSS");

    // Peak RSS while under load, sampled every 20 ms.
    std::atomic<bool> sampling{true};
    std::atomic<int64_t> rss_peak_kb{0};
    std::thread sampler([&] {
      while (sampling.load()) {
        int64_t kb = proc_status_kb(server.pid(), "VmRSS");
        if (kb > rss_peak_kb.load()) rss_peak_kb.store(kb);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    struct SamplerStop {
      std::atomic<bool>& on;
      std::thread& t;
      ~SamplerStop() {
        on.store(false);
        if (t.joinable()) t.join();
      }
    } sampler_stop{sampling, sampler};

    // Warm-up (not reported): both paths, and a first estimate of the ingest rate to size the
    // precomputed deliveries.
    run_closed(server, connections, 0.5, false, nullptr, nullptr);
    auto warm = run_closed(server, connections, 1.0, true, nullptr, &factory);
    double est_rate = std::max(1000.0, warm.rate());

    std::printf("\n%-6s %12s %12s %7s %14s %14s\n", "round", "noop req/s", "ingest req/s", "ratio",
                "cpu us/noop", "cpu us/ingest");
    std::vector<double> noop_rates, ingest_rates, ratios;
    uint64_t ingested = warm.ok, made_late = 0;
    for (int round = 1; round <= rounds; ++round) {
      auto noop = run_closed(server, connections, seconds, false, nullptr, nullptr);
      size_t want = static_cast<size_t>(std::min(est_rate * seconds * 2.0 + 1000, 400000.0));
      auto prepared = prepare(factory, connections, want);  // signed just before the phase
      auto ingest = run_closed(server, connections, seconds, true, &prepared, &factory);
      prepared.clear();
      ingested += ingest.ok;
      made_late += ingest.made_late;
      est_rate = std::max(est_rate, ingest.rate());
      double ratio = noop.rate() > 0 ? ingest.rate() / noop.rate() : 0;
      noop_rates.push_back(noop.rate());
      ingest_rates.push_back(ingest.rate());
      ratios.push_back(ratio);
      std::printf("%-6d %12.0f %12.0f %7.3f %14.1f %14.1f%s%s\n", round, noop.rate(), ingest.rate(),
                  ratio, noop.ok ? noop.server_cpu_s * 1e6 / static_cast<double>(noop.ok) : 0,
                  ingest.ok ? ingest.server_cpu_s * 1e6 / static_cast<double>(ingest.ok) : 0,
                  errors_note(noop).c_str(), errors_note(ingest).c_str());
      std::fflush(stdout);
    }
    const double med_noop = median(noop_rates), med_ingest = median(ingest_rates),
                 med_ratio = median(ratios);
    std::printf("%-6s %12.0f %12.0f %7.3f\n", "median", med_noop, med_ingest, med_ratio);
    if (made_late > 0) {
      std::printf("(%llu deliveries were signed during the phase: precomputed ones ran out)\n",
                  static_cast<unsigned long long>(made_late));
    }

    // Latency at half the measured ingest rate.
    const double target = med_ingest / 2;
    auto prepared =
        prepare(factory, connections, static_cast<size_t>(target * latency_seconds * 1.1 + 100));
    auto lat = run_paced(server, connections, latency_seconds, target, prepared, factory);
    prepared.clear();
    ingested += lat.phase.ok;
    std::printf(
        "\nlatency at %.0f req/s (half the median ingest rate), %d connections, %.1f s: "
        "achieved %.0f req/s%s\n",
        target, connections, latency_seconds, lat.phase.rate(), errors_note(lat.phase).c_str());
    std::printf("  %-28s %8s %8s %8s %8s\n", "", "p50", "p90", "p99", "max");
    std::printf("  %-28s %8.2f %8.2f %8.2f %8.2f\n", "service (send->200) ms",
                percentile(lat.service_ms, 50), percentile(lat.service_ms, 90),
                percentile(lat.service_ms, 99),
                lat.service_ms.empty() ? NAN : lat.service_ms.back());
    std::printf("  %-28s %8.2f %8.2f %8.2f %8.2f\n", "scheduled (due->200) ms",
                percentile(lat.schedule_ms, 50), percentile(lat.schedule_ms, 90),
                percentile(lat.schedule_ms, 99),
                lat.schedule_ms.empty() ? NAN : lat.schedule_ms.back());

    sampling.store(false);
    sampler.join();
    const int64_t rss_load_kb = rss_peak_kb.load();
    const int64_t hwm_kb = proc_status_kb(server.pid(), "VmHWM");

    // Storage: live (db + wal) with the server running, then after a clean stop (checkpointed).
    int64_t events = 0;
    {
      SQLite::Database sdb(db, SQLite::OPEN_READONLY);
      sdb.setBusyTimeout(10000);
      events = sdb.execAndGet("SELECT COUNT(*) FROM events").getInt64();
    }
    const int64_t db_live = file_size(db), wal_live = file_size(db + "-wal");
    server.signal_and_reap(SIGTERM);
    const int64_t db_closed = file_size(db), wal_closed = file_size(db + "-wal");
    double ready_existing_ms = start_and_wait(server);
    // Processing yields to waiting webhooks, so under saturation most events wait, pending. After
    // the restart nothing else runs: how fast the backlog goes, over at most 20 s.
    auto pending_events = [&] {
      SQLite::Database sdb(db, SQLite::OPEN_READONLY);
      sdb.setBusyTimeout(10000);
      return sdb.execAndGet("SELECT COUNT(*) FROM events WHERE process_state = 'pending'")
          .getInt64();
    };
    const int64_t backlog = pending_events();
    int64_t left = backlog;
    const auto drain_start = Clock::now();
    double drain_s = 0;
    while (left > 0 && drain_s < 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      left = pending_events();
      drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();
    }
    const double drain_eps = drain_s > 0 ? static_cast<double>(backlog - left) / drain_s : 0;
    server.signal_and_reap(SIGTERM);

    const double bpe_live =
        events ? static_cast<double>(db_live + wal_live) / static_cast<double>(events) : 0;
    const double bpe_closed =
        events ? static_cast<double>(db_closed + wal_closed) / static_cast<double>(events) : 0;
    std::printf("\nmemory: VmRSS idle %.1f MB, peak sampled under load %.1f MB (VmHWM %.1f MB)\n",
                rss_idle_kb / 1024.0, rss_load_kb / 1024.0, hwm_kb / 1024.0);
    std::printf(
        "storage: %lld events stored (%llu acknowledged 200 in timed phases + warm-up); "
        "body %zu bytes\n",
        static_cast<long long>(events), static_cast<unsigned long long>(ingested),
        factory.body_size());
    std::printf("  live:          db %.1f MB + wal %.1f MB = %.0f bytes/event\n", db_live / 1e6,
                wal_live / 1e6, bpe_live);
    std::printf("  after SIGTERM: db %.1f MB + wal %.1f MB = %.0f bytes/event\n", db_closed / 1e6,
                wal_closed / 1e6, bpe_closed);
    std::printf("restart on the existing database: ready %.1f ms after fork\n", ready_existing_ms);
    std::printf(
        "processing after the restart: %lld of %lld pending events in %.1f s = %.0f events/s\n",
        static_cast<long long>(backlog - left), static_cast<long long>(backlog), drain_s,
        drain_eps);
    std::printf(
        "\ningest_ratio %.2f  noop_rps %.0f  ingest_rps %.0f  p99_ms %.2f  "
        "p99_sched_ms %.2f  rss_idle_mb %.0f  rss_load_mb %.0f  bytes_per_event %.0f  "
        "bytes_per_event_live %.0f  ready_ms %.0f  processing_eps %.0f\n",
        med_ratio, med_noop, med_ingest, percentile(lat.service_ms, 99),
        percentile(lat.schedule_ms, 99), rss_idle_kb / 1024.0, rss_load_kb / 1024.0, bpe_closed,
        bpe_live, ready_existing_ms, drain_eps);
    if (keep) {
      std::string kept = dir->path() + "-kept";
      std::rename(dir->path().c_str(), kept.c_str());
      std::printf("kept %s\n", kept.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ingest_bench: %s\n", e.what());
    return 1;
  }
}
