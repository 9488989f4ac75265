#include "http/frontend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "http/route_table.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/thread_name.h"

namespace cs::http {
namespace {

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool is_token(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char ch : s) {
    if (ch <= 32 || ch >= 127 || std::strchr("\"(),/:;<=>?@[\\]{}", ch)) return false;
  }
  return true;
}

const char* reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

const char* code_of(int status) {
  switch (status) {
    case 408:
      return "request_timeout";
    case 411:
      return "length_required";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 431:
      return "headers_too_large";
    case 503:
      return "unavailable";
  }
  return "bad_request";
}

HeadCheck fail(int status, std::string message) {
  HeadCheck h;
  h.status = status;
  h.message = std::move(message);
  return h;
}

/// Where the head ends (index just past the blank line), or npos.
size_t head_end(const std::string& buf) {
  size_t crlf = buf.find("\r\n\r\n");
  size_t lf = buf.find("\n\n");
  if (crlf != std::string::npos && (lf == std::string::npos || crlf + 2 <= lf)) return crlf + 4;
  if (lf != std::string::npos) return lf + 2;
  return std::string::npos;
}

/// Writes all of `data` to a non-blocking socket, waiting at most `timeout_ms` for each bit of
/// progress. False when the peer is gone or stalled.
bool write_all(int fd, const char* data, size_t size, int64_t timeout_ms) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, static_cast<int>(timeout_ms));
      if (r <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

/// httplib's view of one request: reads come from the bytes the reactor collected (and end
/// there), writes go to the socket. The response head is checked as it passes: a response that
/// says `Connection: close` loses any `Keep-Alive` header and closes the connection.
class RequestStream : public httplib::Stream {
 public:
  RequestStream(int fd, std::string data, std::string ip, int port, int64_t write_timeout_ms)
      : fd_(fd),
        data_(std::move(data)),
        ip_(std::move(ip)),
        port_(port),
        write_timeout_ms_(write_timeout_ms) {}

  bool is_readable() const override { return pos_ < data_.size(); }
  bool is_writable() const override { return !failed_; }
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, data_.size() - pos_);
    std::memcpy(ptr, data_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (failed_) return -1;
    if (!head_done_) {
      head_.append(ptr, size);
      size_t end = head_.find("\r\n\r\n");
      if (end == std::string::npos) return static_cast<ssize_t>(size);
      head_done_ = true;
      std::string rest = head_.substr(end + 4);
      std::string out = filter_head(head_.substr(0, end + 2)) + "\r\n" + rest;
      if (!write_all(fd_, out.data(), out.size(), write_timeout_ms_)) failed_ = true;
      return failed_ ? -1 : static_cast<ssize_t>(size);
    }
    if (!write_all(fd_, ptr, size, write_timeout_ms_)) failed_ = true;
    return failed_ ? -1 : static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = ip_;
    port = port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "";
    port = 0;
  }
  socket_t socket() const override { return fd_; }

  bool closes() const { return closes_ || failed_ || !head_done_; }
  /// A 1xx response is not the final one: httplib writes "100 Continue" itself for Expect.
  void flush_unfinished() {
    if (!head_done_ && !head_.empty()) {
      write_all(fd_, head_.data(), head_.size(), write_timeout_ms_);
    }
  }

 private:
  std::string filter_head(const std::string& head) {
    // head: status line and header lines, each ending in CRLF.
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      lines.push_back(head.substr(pos, e - pos));
      pos = e + 2;
    }
    for (const auto& l : lines) {
      std::string ll = lower(l);
      if (ll.rfind("connection:", 0) == 0 && trim(ll.substr(11)) == "close") closes_ = true;
    }
    std::string out;
    for (const auto& l : lines) {
      std::string ll = lower(l);
      if (closes_ && ll.rfind("keep-alive:", 0) == 0) continue;
      out += l + "\r\n";
    }
    return out;
  }

  int fd_;
  std::string data_;
  size_t pos_ = 0;
  std::string ip_;
  int port_;
  int64_t write_timeout_ms_;
  std::string head_;
  bool head_done_ = false;
  bool closes_ = false;
  bool failed_ = false;
};

class InlineQueue : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

}  // namespace

HeadCheck check_head(const std::string& head, const ConnectionLimits& limits) {
  if (head.size() > limits.max_head) {
    return fail(431,
                "the request head is larger than " + std::to_string(limits.max_head) + " bytes");
  }
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t e = head.find('\n', pos);
    if (e == std::string::npos) e = head.size();
    std::string l = head.substr(pos, e - pos);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(std::move(l));
    pos = e + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return fail(400, "empty request");
  const std::string& rl = lines[0];
  if (rl.size() > limits.max_header_line) return fail(414, "the request target is too long");
  size_t sp1 = rl.find(' ');
  size_t sp2 = sp1 == std::string::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || rl.find(' ', sp2 + 1) != std::string::npos) {
    return fail(400, "malformed request line");
  }
  HeadCheck h;
  h.method = rl.substr(0, sp1);
  std::string target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string version = rl.substr(sp2 + 1);
  if (!is_token(h.method) || target.empty() || (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    return fail(400, "malformed request line");
  }
  for (unsigned char ch : target) {
    if (ch <= 32 || ch == 127) return fail(400, "malformed request target");
  }
  if (lines.size() - 1 > limits.max_headers) {
    return fail(431, "more than " + std::to_string(limits.max_headers) + " header lines");
  }
  int lengths = 0;
  bool transfer_encoding = false;
  std::string cl;
  std::string out = rl + "\r\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.size() > limits.max_header_line) {
      return fail(
          431, "a header line is longer than " + std::to_string(limits.max_header_line) + " bytes");
    }
    if (l.empty() || l[0] == ' ' || l[0] == '\t') return fail(400, "malformed header line");
    size_t colon = l.find(':');
    if (colon == std::string::npos || !is_token(l.substr(0, colon))) {
      return fail(400, "malformed header line");
    }
    for (unsigned char ch : l) {
      if ((ch < 32 && ch != '\t') || ch == 127) return fail(400, "control character in a header");
    }
    std::string name = lower(l.substr(0, colon));
    std::string value = trim(l.substr(colon + 1));
    if (name == "content-length") {
      ++lengths;
      cl = value;
    } else if (name == "transfer-encoding") {
      transfer_encoding = true;
    } else if (name == "expect" && lower(value) == "100-continue") {
      h.expect_continue = true;
      continue;
    }
    out += l + "\r\n";
  }
  if (transfer_encoding && lengths > 0) {
    return fail(400, "a request must not carry both Content-Length and Transfer-Encoding");
  }
  if (transfer_encoding) return fail(411, "a Content-Length header is required");
  if (lengths > 1) return fail(400, "more than one Content-Length header");
  bool body_method = h.method == "POST" || h.method == "PUT" || h.method == "PATCH";
  if (lengths == 0 && body_method) return fail(411, "a Content-Length header is required");
  size_t q = target.find('?');
  h.path = httplib::detail::decode_url(target.substr(0, q), false);
  size_t limit = body_limit_for(h.method, h.path);
  if (lengths == 1) {
    if (cl.empty() || cl.size() > 15 || cl.find_first_not_of("0123456789") != std::string::npos) {
      return fail(400, "Content-Length is not a number");
    }
    h.content_length = std::stoull(cl);
    if (h.content_length > limit) {
      return fail(413, "the body is larger than " + std::to_string(limit) + " bytes");
    }
  }
  if (h.content_length == 0) h.expect_continue = false;
  h.head = out + "\r\n";
  return h;
}

struct Frontend::Conn {
  enum class State { Waiting, Body, Draining };
  int fd = -1;
  std::string ip;
  int port = 0;
  std::string buf;
  State state = State::Waiting;
  int64_t since_ms = 0;       // accepted, or the previous response ended
  int64_t body_since_ms = 0;  // the head was complete
  size_t head_len = 0;        // bytes of the received head in buf
  size_t need = 0;            // head_len + content length
  std::string head;           // the head to hand on
  size_t served = 0;
  size_t drained = 0;
};

struct Frontend::Job {
  std::unique_ptr<Conn> conn;
  std::string request;
};

Frontend::Frontend(ConnectionLimits limits) : limits_(limits) {
  new_task_queue = [] { return new InlineQueue; };
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  reactor_ = std::thread([this] {
    name_this_thread("cs-http-reactor");
    reactor_loop();
  });
  for (int i = 0; i < std::max(1, limits_.workers); ++i) {
    workers_.emplace_back([this] {
      name_this_thread("cs-http");
      worker_loop();
    });
  }
}

Frontend::~Frontend() {
  shutdown_connections();
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void Frontend::shutdown_connections() {
  if (stopping_.exchange(true)) return;
  wake();
  job_cv_.notify_all();
  if (reactor_.joinable()) reactor_.join();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  {
    std::lock_guard<std::mutex> lock(in_mu_);
    for (int fd : new_fds_) ::close(fd);
    new_fds_.clear();
    for (auto& c : returned_) ::close(c->fd);
    returned_.clear();
  }
  std::lock_guard<std::mutex> lock(job_mu_);
  for (auto& j : jobs_) ::close(j->conn->fd);
  jobs_.clear();
}

void Frontend::wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof one);
  (void)n;
}

bool Frontend::process_and_close_socket(socket_t sock) {
  if (stopping_) {
    ::close(sock);
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(in_mu_);
    new_fds_.push_back(sock);
  }
  wake();
  return true;
}

void Frontend::adopt(int fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (open_ + in_workers_ >= limits_.max_connections) {
    // Full: make room by closing the connection idle the longest; else refuse this one.
    Conn* oldest = nullptr;
    for (auto& c : conns_) {
      if (c && c->state == Conn::State::Waiting && c->buf.empty() &&
          (!oldest || c->since_ms < oldest->since_ms)) {
        oldest = c.get();
      }
    }
    if (!oldest) {
      ::close(fd);
      return;
    }
    close_conn(oldest->fd);
  }
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    char host[INET6_ADDRSTRLEN] = {0};
    if (addr.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      c->port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      c->port = ntohs(a->sin6_port);
    }
    c->ip = host;
  }
  c->since_ms = mono_ms();
  if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) + 64);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    return;
  }
  conns_[static_cast<size_t>(fd)] = std::move(c);
  ++open_;
}

void Frontend::close_conn(int fd) {
  auto& c = conns_[static_cast<size_t>(fd)];
  if (!c) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  c.reset();
  --open_;
}

void Frontend::reactor_loop() {
  std::vector<epoll_event> events(256);
  int64_t last_sweep = mono_ms();
  while (!stopping_) {
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == wake_fd_) {
        uint64_t v;
        ssize_t r = ::read(wake_fd_, &v, sizeof v);
        (void)r;
        std::vector<int> fds;
        std::vector<std::unique_ptr<Conn>> back;
        {
          std::lock_guard<std::mutex> lock(in_mu_);
          fds.swap(new_fds_);
          back.swap(returned_);
        }
        for (int f : fds) adopt(f);
        for (auto& c : back) {
          int cfd = c->fd;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = cfd;
          if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, cfd, &ev) != 0) {
            ::close(cfd);
            continue;
          }
          conns_[static_cast<size_t>(cfd)] = std::move(c);
          ++open_;
          // A pipelined request may already be complete in the buffer.
          advance(*conns_[static_cast<size_t>(cfd)]);
        }
        continue;
      }
      if (static_cast<size_t>(fd) < conns_.size() && conns_[static_cast<size_t>(fd)]) {
        on_readable(*conns_[static_cast<size_t>(fd)]);
      }
    }
    int64_t now = mono_ms();
    if (now - last_sweep >= 100) {
      sweep(now);
      last_sweep = now;
    }
  }
  for (auto& c : conns_) {
    if (c) {
      ::close(c->fd);
      c.reset();
    }
  }
  open_ = 0;
}

void Frontend::on_readable(Conn& c) {
  char tmp[16384];
  for (;;) {
    // Read no further than needed: the head limit, or the declared body.
    size_t cap = c.state == Conn::State::Body ? std::max(c.need, c.buf.size()) - c.buf.size()
                                              : limits_.max_head + 1;
    if (c.state == Conn::State::Draining) cap = sizeof tmp;
    if (c.state == Conn::State::Waiting && c.buf.size() > limits_.max_head) break;
    if (cap == 0) break;
    ssize_t n = ::recv(c.fd, tmp, std::min(cap, sizeof tmp), 0);
    if (n > 0) {
      if (c.state == Conn::State::Draining) {
        c.drained += static_cast<size_t>(n);
        if (c.drained > 4 * 1024 * 1024) return close_conn(c.fd);
        continue;
      }
      c.buf.append(tmp, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return close_conn(c.fd);  // EOF or error: nothing more can be answered
  }
  advance(c);
}

void Frontend::advance(Conn& c) {
  if (c.state == Conn::State::Draining) return;
  if (c.state == Conn::State::Waiting) {
    if (c.buf.empty()) return;
    size_t end = head_end(c.buf);
    if (end == std::string::npos) {
      // Incomplete: refuse as soon as the limits are already exceeded.
      if (c.buf.size() > limits_.max_head) {
        return reject(
            c, 431,
            "the request head is larger than " + std::to_string(limits_.max_head) + " bytes");
      }
      size_t lines = static_cast<size_t>(std::count(c.buf.begin(), c.buf.end(), '\n'));
      if (lines > limits_.max_headers + 1) {
        return reject(c, 431, "more than " + std::to_string(limits_.max_headers) + " header lines");
      }
      size_t last = c.buf.rfind('\n');
      size_t partial = last == std::string::npos ? c.buf.size() : c.buf.size() - last - 1;
      if (partial > limits_.max_header_line) {
        return reject(c, lines == 0 ? 414 : 431, "a request line or header line is too long");
      }
      return;
    }
    HeadCheck h = check_head(c.buf.substr(0, end), limits_);
    if (h.status != 0) return reject(c, h.status, h.message);
    c.head_len = end;
    c.need = end + h.content_length;
    c.head = std::move(h.head);
    c.state = Conn::State::Body;
    c.body_since_ms = mono_ms();
    if (h.expect_continue && c.buf.size() < c.need) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      ::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
    }
  }
  if (c.state == Conn::State::Body && c.buf.size() >= c.need) dispatch(c.fd);
}

void Frontend::reject(Conn& c, int status, const std::string& message) {
  std::string body =
      nlohmann::json{{"error", {{"code", code_of(status)}, {"message", message}}}}.dump();
  std::string res =
      "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\nCache-Control: "
      "no-store\r\nX-Request-Id: " +
      crypto::random_hex(8) + "\r\n\r\n" + body;
  log::warn("request refused before its body was read",
            {{"status", std::to_string(status)}, {"reason", message}, {"ip", c.ip}});
  ::send(c.fd, res.data(), res.size(), MSG_NOSIGNAL);
  // Nothing this client sends from now on is parsed: shut our side, read and discard the rest
  // for a moment (so the answer is not lost to a reset), then close.
  ::shutdown(c.fd, SHUT_WR);
  c.state = Conn::State::Draining;
  c.buf.clear();
  c.buf.shrink_to_fit();
  c.since_ms = mono_ms();
  on_readable(c);
}

void Frontend::dispatch(int fd) {
  auto& slot = conns_[static_cast<size_t>(fd)];
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  auto job = std::make_unique<Job>();
  job->request = slot->head + slot->buf.substr(slot->head_len, slot->need - slot->head_len);
  slot->buf.erase(0, slot->need);
  job->conn = std::move(slot);
  --open_;
  ++in_workers_;
  {
    std::lock_guard<std::mutex> lock(job_mu_);
    jobs_.push_back(std::move(job));
  }
  job_cv_.notify_one();
}

void Frontend::sweep(int64_t now) {
  for (auto& slot : conns_) {
    if (!slot) continue;
    Conn& c = *slot;
    switch (c.state) {
      case Conn::State::Waiting:
        if (c.buf.empty() && now - c.since_ms >= limits_.idle_timeout_ms) {
          close_conn(c.fd);
        } else if (!c.buf.empty() && now - c.since_ms >= limits_.head_timeout_ms) {
          reject(c, 408, "the request head did not arrive in time");
        }
        break;
      case Conn::State::Body: {
        int64_t late = now - c.body_since_ms - limits_.body_grace_ms;
        size_t got = c.buf.size() - c.head_len;
        if (late > 0 && got < static_cast<size_t>(late) * limits_.body_min_rate / 1000) {
          reject(c, 408, "the body arrived too slowly");
        }
        break;
      }
      case Conn::State::Draining:
        if (now - c.since_ms >= 2000) close_conn(c.fd);
        break;
    }
  }
}

void Frontend::worker_loop() {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(job_mu_);
      job_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    serve(*job);
  }
}

void Frontend::serve(Job& job) {
  Conn& c = *job.conn;
  RequestStream strm(c.fd, std::move(job.request), c.ip, c.port, limits_.write_timeout_ms);
  bool close_after = c.served + 1 >= limits_.keep_alive_max || stopping_;
  bool closed = false;
  bool ok = process_request(strm, close_after, closed, [&c](httplib::Request& req) {
    req.remote_addr = c.ip;
    req.remote_port = c.port;
  });
  c.served += 1;
  c.state = Conn::State::Waiting;
  c.since_ms = mono_ms();
  c.head.clear();
  if (!ok || closed || close_after || strm.closes()) {
    ::shutdown(c.fd, SHUT_WR);
    c.state = Conn::State::Draining;
    c.buf.clear();
  }
  --in_workers_;
  if (stopping_) {
    ::close(c.fd);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(in_mu_);
    returned_.push_back(std::move(job.conn));
  }
  wake();
}

}  // namespace cs::http
