// Issue 14 item 4: calls to Whop over TLS, a new connection per call (as before) against reused
// keep-alive connections (now). A TLS server on loopback with a self-signed certificate (made with
// the openssl command, trusted by the client through ClientConfig::ca_cert_file) answers
// POST /api/v1/notifications like Whop's send_push. For each mode and thread count: calls/s,
// p50/p99/max latency and the TCP connections opened. Prints figures, asserts nothing.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <CLI/CLI.hpp>

#include "util/clock.h"
#include "whop/client.h"

namespace {

using Steady = std::chrono::steady_clock;

struct Figures {
  double calls_per_s = 0;
  double p50 = 0, p99 = 0, max = 0;
  uint64_t calls = 0, failed = 0, connections = 0;
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

Figures run(const std::string& base, const std::string& ca, int idle, int threads, double seconds) {
  cs::SystemClock clock;
  cs::whop::ClientConfig cfg;
  cfg.api_base = base;
  cfg.api_key = "bench_key";
  cfg.rate_limit_per_minute = 100'000'000;
  cfg.max_idle_connections = idle;
  cfg.ca_cert_file = ca;
  cs::whop::Client client(cfg, clock);
  for (int i = 0; i < 10; ++i) (void)client.send_push("exp_1", {"user_1"}, "t", "c");  // warm-up
  const uint64_t opened_before = client.connections_opened();
  std::atomic<uint64_t> failed{0};
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  const auto start = Steady::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      while (Steady::now() < end) {
        const auto a = Steady::now();
        auto r = client.send_push("exp_1", {"user_1"}, "Your payment failed", "Update your card");
        const auto b = Steady::now();
        if (!r) ++failed;
        lat[static_cast<size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(b - a).count());
      }
    });
  }
  for (auto& t : ts) t.join();
  const double elapsed = std::chrono::duration<double>(Steady::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  Figures f;
  f.calls = all.size();
  f.failed = failed.load();
  f.calls_per_s = static_cast<double>(all.size()) / elapsed;
  f.p50 = pct(all, 0.50);
  f.p99 = pct(all, 0.99);
  f.max = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  f.connections = client.connections_opened() - opened_before;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Whop client over TLS: a new connection per call vs reused connections"};
  double seconds = 3;
  std::vector<int> thread_counts{1, 4};
  app.add_option("--seconds", seconds, "length of each timed run");
  app.add_option("--threads", thread_counts, "caller threads (one run per value)");
  CLI11_PARSE(app, argc, argv);

  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cs-whop-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string key = (dir / "key.pem").string(), cert = (dir / "cert.pem").string();
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "whop_client_bench: the openssl command could not make a certificate\n");
    return 1;
  }

  httplib::SSLServer server(cert.c_str(), key.c_str());
  server.new_task_queue = [] { return new httplib::ThreadPool(8); };
  server.set_keep_alive_max_count(1'000'000);
  server.set_tcp_nodelay(true);  // as a real front end would: no Nagle delay on the answer
  server.Post("/api/v1/notifications", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"success":true})", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread srv([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string base = "https://127.0.0.1:" + std::to_string(port) + "/api/v1";

  std::printf("send_push over TLS (ECDSA P-256, loopback), %.0f s per run\n\n", seconds);
  std::printf(
      "| connections | threads | calls/s | p50 ms | p99 ms | max ms | calls | failed | "
      "TCP connections |\n|---|---|---|---|---|---|---|---|---|\n");
  for (int threads : thread_counts) {
    for (int idle : {0, 4}) {
      Figures f = run(base, cert, idle, threads, seconds);
      std::printf("| %s | %d | %.0f | %.2f | %.2f | %.2f | %llu | %llu | %llu |\n",
                  idle == 0 ? "new per call (before)" : "reused (now)", threads, f.calls_per_s,
                  f.p50, f.p99, f.max, static_cast<unsigned long long>(f.calls),
                  static_cast<unsigned long long>(f.failed),
                  static_cast<unsigned long long>(f.connections));
    }
  }
  server.stop();
  srv.join();
  fs::remove_all(dir);
  return 0;
}
