// Crash safety of webhook ingestion against the real binary: SIGKILL the server while signed
// webhooks stream in over keep-alive connections, restart it on the same database, and every
// webhook-id that was answered 200 is stored exactly once (issue: "acknowledged means durable").
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/fake_whop.h"
#include "support/server_process.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

using test::ServerProcess;
using test::tail;

httplib::Client make_client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  c.set_connection_timeout(1, 0);
  c.set_read_timeout(5, 0);
  c.set_write_timeout(5, 0);
  return c;
}

std::string payment_failed_body(const std::string& tag) {
  test::FakeWhop::PaymentSpec spec;
  spec.payment_id = "pay_" + tag;
  spec.membership_id = "mem_" + tag.substr(0, tag.find('x'));
  spec.user_id = "user_" + tag.substr(0, tag.find('x'));
  return test::FakeWhop::payment_event("payment.failed", spec).dump();
}

/// What the senders saw in one round.
struct RoundLog {
  std::mutex mu;
  std::vector<std::string> acked;   // first deliveries answered 200
  std::vector<std::string> errors;  // non-200 HTTP answers (a real status, not a dead socket)
  int duplicates_acked = 0;         // re-sends of acked ids answered 200
  std::atomic<int> acked_count{0};
};

/// Sender threads: stopped and joined on destruction.
class Senders {
 public:
  Senders(int port, int round, int threads, RoundLog& log, uint32_t seed) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, port, round, t, &log, seed] { run(port, round, t, log, seed); });
    }
  }
  ~Senders() { stop(); }
  void stop() {
    stop_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void run(int port, int round, int t, RoundLog& log, uint32_t seed) {
    std::mt19937 rng(seed + static_cast<uint32_t>(round * 100 + t));
    auto client = make_client(port);
    std::vector<std::pair<std::string, std::string>> mine;  // acked (id, body)
    std::vector<std::string> errors;
    int dup_acked = 0;
    for (int seq = 0; !stop_.load(); ++seq) {
      std::string id, body;
      bool dup = !mine.empty() && rng() % 5 == 0;
      if (dup) {
        const auto& prev = mine[rng() % mine.size()];
        id = prev.first;
        body = prev.second;
      } else {
        std::string tag =
            "r" + std::to_string(round) + "t" + std::to_string(t) + "x" + std::to_string(seq);
        id = "msg_crash_" + tag;
        body = payment_failed_body(tag);
      }
      auto res = client.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, id, body), body,
                             "application/json");
      if (!res) continue;  // the server is gone (or going): not acknowledged
      if (res->status != 200) {
        errors.push_back(id + " -> " + std::to_string(res->status) + " " + res->body);
        continue;
      }
      if (dup) {
        ++dup_acked;
      } else {
        mine.emplace_back(id, std::move(body));
        log.acked_count.fetch_add(1);
      }
    }
    std::lock_guard<std::mutex> lock(log.mu);
    for (auto& [id, body] : mine) log.acked.push_back(id);
    for (auto& e : errors) log.errors.push_back(e);
    log.duplicates_acked += dup_acked;
  }

  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

int64_t rows_for(SQLite::Database& db, const std::string& webhook_id) {
  SQLite::Statement q(db, "SELECT COUNT(*) FROM events WHERE webhook_id = ?");
  q.bind(1, webhook_id);
  q.executeStep();
  return q.getColumn(0).getInt64();
}

}  // namespace

TEST_CASE("SIGKILL mid-stream: every acknowledged webhook-id is stored exactly once") {
  ::signal(SIGPIPE, SIG_IGN);  // a write to a killed server must not kill the test
  test::TempDir dir;
  const std::string db_path = dir.file("cs.db");
  ServerProcess server(db_path, dir.file("server.log"));
  server.start();
  REQUIRE_MESSAGE(server.wait_ready("/healthz"), tail(server.log()));

  const uint32_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  constexpr int kRounds = 3;
  constexpr int kThreads = 6;
  std::vector<std::string> all_acked;

  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    RoundLog log;
    {
      Senders senders(server.port(), round, kThreads, log, seed);
      // Let the stream get going (bounded), then kill at a random point 200-800 ms in.
      auto deadline = SteadyClock::now() + std::chrono::seconds(5);
      while (log.acked_count.load() == 0 && SteadyClock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 601));
      int status = server.signal_and_reap(SIGKILL);
      CHECK(WIFSIGNALED(status));
      CHECK(WTERMSIG(status) == SIGKILL);
      senders.stop();
    }
    MESSAGE("round " << round << ": " << log.acked.size() << " acknowledged, "
                     << log.duplicates_acked << " duplicates acknowledged");
    CHECK(log.acked.size() > 0);
    CHECK_MESSAGE(log.errors.empty(),
                  "non-200 answers while streaming, first: "
                      << (log.errors.empty() ? std::string() : log.errors.front()));
    all_acked.insert(all_acked.end(), log.acked.begin(), log.acked.end());

    server.start();
    REQUIRE_MESSAGE(server.wait_ready("/healthz"), tail(server.log()));

    {
      SQLite::Database db(db_path, SQLite::OPEN_READONLY);
      db.setBusyTimeout(5000);
      size_t missing = 0, doubled = 0;
      std::string first_bad;
      for (const auto& id : all_acked) {
        int64_t n = rows_for(db, id);
        if (n != 1) {
          (n == 0 ? missing : doubled) += 1;
          if (first_bad.empty()) first_bad = id + " stored " + std::to_string(n) + " times";
        }
      }
      CHECK_MESSAGE(missing == 0, missing << " acknowledged ids missing, e.g. " << first_bad);
      CHECK_MESSAGE(doubled == 0, doubled << " acknowledged ids stored twice, e.g. " << first_bad);
      SQLite::Statement dups(db,
                             "SELECT COUNT(*) FROM (SELECT webhook_id FROM events GROUP BY "
                             "webhook_id HAVING COUNT(*) > 1)");
      REQUIRE(dups.executeStep());
      CHECK(dups.getColumn(0).getInt64() == 0);
      SQLite::Statement total(db,
                              "SELECT COUNT(*) FROM events WHERE webhook_id LIKE 'msg_crash_%'");
      REQUIRE(total.executeStep());
      // Unacknowledged in-flight deliveries may or may not have been stored; nothing else is.
      CHECK(total.getColumn(0).getInt64() >= static_cast<int64_t>(all_acked.size()));
      SQLite::Statement integrity(db, "PRAGMA integrity_check");
      REQUIRE(integrity.executeStep());
      CHECK(integrity.getColumn(0).getString() == "ok");
    }

    // The restarted server takes new webhooks, and still knows the acknowledged ones.
    auto client = make_client(server.port());
    const std::string tag = "newr" + std::to_string(round) + "x0";
    const std::string body = payment_failed_body(tag);
    auto fresh =
        client.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, "msg_after_" + tag, body),
                    body, "application/json");
    REQUIRE(fresh);
    CHECK(fresh->status == 200);
    CHECK(json::parse(fresh->body)["result"] == "stored");
    const std::string& old_id = all_acked[rng() % all_acked.size()];
    auto again = client.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, old_id, body),
                             body, "application/json");
    REQUIRE(again);
    CHECK(again->status == 200);
    CHECK(json::parse(again->body)["result"] == "duplicate");
  }
}
