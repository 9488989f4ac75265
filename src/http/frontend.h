#pragma once
// The connection front end (issue 11 items 1-3). cpp-httplib 0.11 gives each connection a worker
// thread from the moment it is accepted and reads the request head and body in that thread with
// only a per-read timeout: slow or idle clients hold workers for as long as they trickle, header
// count and size are unbounded, and a request rejected before its body was read leaves that body
// to be parsed as the next request.
//
// Here one reactor thread (epoll) owns every connection while it waits: it reads the head with a
// deadline and limits, checks the framing (Content-Length only; Transfer-Encoding is refused),
// enforces the route table's body limit and reads the body at a minimum rate. Only a complete
// request goes to a worker, which runs httplib's own request processing (routing, handlers,
// response writing) over exactly those bytes; the connection then returns to the reactor to wait
// for the next request. A client that sends nothing, or sends slowly, costs a file descriptor and
// a few bytes, never a worker. Every rejection is answered with `Connection: close`, the write
// side is shut and what the client sends afterwards is read and discarded, never parsed.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace cs::http {

struct ConnectionLimits {
  int workers = 32;                 // threads that run handlers
  size_t max_connections = 512;     // open connections (idle ones are closed first beyond it)
  int64_t idle_timeout_ms = 5000;   // a connection with no byte of a request is closed
  int64_t head_timeout_ms = 10000;  // the whole head must arrive within this (408 otherwise)
  size_t max_headers = 100;         // header lines (431 beyond)
  size_t max_header_line = 8192;    // bytes per line (request line: 414; header line: 431)
  size_t max_head = 32768;          // bytes of the whole head (431 beyond)
  int64_t body_grace_ms = 5000;     // after the head, the body may start slowly for this long
  size_t body_min_rate = 10240;     // then it must keep up this many bytes per second (408)
  int64_t write_timeout_ms = 5000;  // a response write that makes no progress for this long
  size_t keep_alive_max = 1000;     // requests per connection
};

/// Outcome of checking a complete request head.
struct HeadCheck {
  int status = 0;       // 0 = acceptable; else the status to answer before closing
  std::string message;  // for the error body
  std::string method, path;
  size_t content_length = 0;
  bool expect_continue = false;
  std::string head;  // the head to hand on (Expect: 100-continue removed)
};

/// Checks a complete head (request line, header lines, the blank line) against `limits` and the
/// route table's body limits. Pure: the unit of the framing rules.
HeadCheck check_head(const std::string& head, const ConnectionLimits& limits);

class Frontend : public httplib::Server {
 public:
  explicit Frontend(ConnectionLimits limits);
  ~Frontend() override;
  /// Stops the reactor and the workers and closes every connection (after httplib's stop()).
  void shutdown_connections();

 private:
  struct Conn;
  struct Job;
  bool process_and_close_socket(socket_t sock) override;
  void reactor_loop();
  void worker_loop();
  void adopt(int fd);
  void on_readable(Conn& c);
  void advance(Conn& c);
  void reject(Conn& c, int status, const std::string& message);
  void dispatch(int fd);
  void close_conn(int fd);
  void sweep(int64_t now);
  void serve(Job& job);
  void wake();

  ConnectionLimits limits_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread reactor_;
  std::vector<std::thread> workers_;

  // Handed to the reactor by the accept thread (new sockets) and by workers (served connections).
  std::mutex in_mu_;
  std::vector<int> new_fds_;
  std::vector<std::unique_ptr<Conn>> returned_;

  // Complete requests waiting for a worker.
  std::mutex job_mu_;
  std::condition_variable job_cv_;
  std::deque<std::unique_ptr<Job>> jobs_;

  // Reactor-owned.
  std::vector<std::unique_ptr<Conn>> conns_;  // indexed by fd
  size_t open_ = 0;
  std::atomic<size_t> in_workers_{0};
};

}  // namespace cs::http
