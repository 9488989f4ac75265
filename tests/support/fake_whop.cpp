// The project's fake Whop (see fake_whop.h and shared/WHOP.md §1, §3, §5).
//
// Fault semantics (REST side), per matching call, first matching fault in injection order:
// - apply_effect: the call is served normally first (auth, validation, side effect) and its
//   answer thrown away; then the fault's delay / drop / status is what the client sees. This is the
//   "timed out (or failed) but it took effect" case.
// - otherwise: sleep delay_ms; then drop the connection, or answer `status`, or (pure delay) serve
//   the call normally, so a slow answer still takes effect, just late.
// Dropped connections: the handler finds its own accepted socket (the fd whose local and peer
// addresses are the request's local_addr:local_port and remote_addr:remote_port) and calls
// ::shutdown(fd, SHUT_RDWR) on it: the client reads EOF with no response (httplib::Error::Read).
// httplib keeps owning the fd and closes it as usual.
#include "support/fake_whop.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <deque>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <httplib.h>

#include "domain/time.h"
#include "util/crypto.h"
#include "whop/signature.h"

namespace cs::test {

using nlohmann::json;

namespace {

constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso(int64_t ms) {
  return cs::domain::format_iso8601_ms(ms);
}

std::string random_alnum(size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    for (unsigned char b : cs::crypto::random_bytes(n * 2)) {
      if (b >= 248) continue;  // 248 = 4 * 62: keeps the draw unbiased
      out.push_back(kAlphabet[b % 62]);
      if (out.size() == n) break;
    }
  }
  return out;
}

json error_body(const std::string& code, const std::string& message) {
  return json{{"error", {{"code", code}, {"message", message}}}};
}

json rate_limit_body(int seconds) {
  return json{{"error",
               {{"type", "rate_limit_exceeded"},
                {"message", "Try again in " + std::to_string(seconds) + " seconds."}}}};
}

std::string status_code_name(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    case 500:
      return "internal_server_error";
    case 502:
      return "bad_gateway";
    case 503:
      return "service_unavailable";
    case 504:
      return "gateway_timeout";
    default:
      return "injected_fault";
  }
}

// "http://host:port/path" -> {"http://host:port", "/path"}.
std::pair<std::string, std::string> split_url(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw std::invalid_argument("bad webhook target: " + url);
  auto slash = url.find('/', scheme_end + 3);
  if (slash == std::string::npos) return {url, "/"};
  return {url.substr(0, slash), url.substr(slash)};
}

std::string company_of(const json& obj) {
  if (obj.contains("company") && obj["company"].is_object() && obj["company"].contains("id") &&
      obj["company"]["id"].is_string())
    return obj["company"]["id"].get<std::string>();
  if (obj.contains("company_id") && obj["company_id"].is_string())
    return obj["company_id"].get<std::string>();
  return {};
}

std::optional<int64_t> time_field(const json& obj, const char* key) {
  if (!obj.contains(key) || !obj[key].is_string()) return std::nullopt;
  return cs::domain::parse_iso8601_ms(obj[key].get<std::string>());
}

// Parses a decimal integer that must use the whole string.
std::optional<long long> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (size_t k = i; k < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return std::nullopt;
  return std::stoll(s);
}

bool same_sockaddr(const sockaddr_storage& ss, const std::string& addr, int port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    if (ntohs(in->sin_port) != port) return false;
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (ntohs(in6->sin6_port) != port) return false;
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
  } else {
    return false;
  }
  return addr == buf;
}

// Shuts down the accepted socket serving `req` (see the comment at the top). True when found.
bool drop_connection_of(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  std::vector<int> fds;
  while (dirent* e = readdir(dir)) {
    if (auto n = parse_int(e->d_name)) fds.push_back(static_cast<int>(*n));
  }
  closedir(dir);
  for (int fd : fds) {
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    if (!same_sockaddr(peer, req.remote_addr, req.remote_port)) continue;
    if (req.local_port > 0 && !same_sockaddr(local, req.local_addr, req.local_port)) continue;
    ::shutdown(fd, SHUT_RDWR);
    return true;
  }
  return false;
}

json fault_to_json(const Fault& f) {
  json j{{"method", f.method},
         {"path_prefix", f.path_prefix},
         {"status", f.status},
         {"delay_ms", f.delay_ms},
         {"drop_connection", f.drop_connection},
         {"apply_effect", f.apply_effect},
         {"count", f.count}};
  j["retry_after_s"] = f.retry_after_s ? json(*f.retry_after_s) : json(nullptr);
  return j;
}

Fault fault_from_json(const json& j) {
  Fault f;
  f.method = j.value("method", std::string());
  f.path_prefix = j.value("path_prefix", std::string());
  f.status = j.value("status", 0);
  if (j.contains("retry_after_s") && j["retry_after_s"].is_number_integer())
    f.retry_after_s = j["retry_after_s"].get<int>();
  f.delay_ms = j.value("delay_ms", 0);
  f.drop_connection = j.value("drop_connection", false);
  f.apply_effect = j.value("apply_effect", false);
  f.count = j.value("count", 1);
  return f;
}

DeliveryOptions options_from_json(const json& j) {
  DeliveryOptions o;
  if (!j.is_object()) return o;
  o.legacy = j.value("legacy", false);
  o.bad_signature = j.value("bad_signature", false);
  o.omit_signature = j.value("omit_signature", false);
  o.timestamp_offset_s = j.value("timestamp_offset_s", int64_t{0});
  if (j.contains("extra_signature_entries"))
    o.extra_signature_entries = j["extra_signature_entries"].get<std::vector<std::string>>();
  o.retry = j.value("retry", true);
  if (j.contains("secret_override") && j["secret_override"].is_string())
    o.secret_override = j["secret_override"].get<std::string>();
  return o;
}

json call_to_json(const Call& c) {
  return json{{"method", c.method},
              {"path", c.path},
              {"query", c.query},
              {"body", c.body},
              {"status", c.status}};
}

}  // namespace

// ------------------------------------------------------------------------------------------------

struct FakeWhop::Impl {
  struct Reply {
    int status = 200;
    json body = json::object();
    std::optional<int> retry_after_s;
  };
  using Handler = std::function<Reply(const httplib::Request&)>;

  std::string secret;
  std::string api_key;
  double retry_scale;

  httplib::Server svr;
  std::thread thread;
  int port = 0;
  std::atomic<bool> control_api{false};

  mutable std::mutex mu;  // guards everything below
  std::string webhook_target;
  std::map<std::string, json> memberships;  // by id
  std::map<std::string, json> payments;     // by id
  std::map<std::string, std::vector<int>> grants;
  std::map<std::set<std::string>, std::string> dm_channels;  // user set -> channel id
  std::set<std::string> channel_ids;
  std::vector<Call> calls;
  uint64_t calls_base = 0;  // sequence number of calls[0] (clear_calls() advances it)
  std::vector<Fault> faults;
  std::function<void(const Call&)> observer;
  bool rate_limit = false;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> rate_windows;

  Impl(std::string s, std::string k, double scale)
      : secret(std::move(s)), api_key(std::move(k)), retry_scale(scale) {}

  // --- Webhooks -------------------------------------------------------------------------------

  DeliveryResult deliver_to(const std::string& target, const std::string& body,
                            const std::string& webhook_id, const DeliveryOptions& opts) const {
    if (target.empty()) throw std::logic_error("FakeWhop: no webhook target set");
    auto [host, path] = split_url(target);
    DeliveryResult result;
    result.webhook_id = webhook_id;
    // Whop: one attempt, then retries after 10 s, 20 s and 40 s (scaled).
    static constexpr double kRetryDelaysS[] = {10, 20, 40};
    const int max_attempts = opts.retry ? 4 : 1;
    // A "slow answer" counts as a failure: the attempt times out after 15 s (scaled, >= 5 s).
    const auto timeout = std::chrono::milliseconds(
        std::max<int64_t>(5000, static_cast<int64_t>(15000 * retry_scale)));
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(
            static_cast<int64_t>(kRetryDelaysS[attempt - 1] * retry_scale * 1e6)));
      }
      const int64_t ts = now_ms() / 1000 + opts.timestamp_offset_s;
      std::string key = opts.secret_override.value_or(secret);
      if (opts.bad_signature) key = "ws_" + std::string(64, '0') + "_not_the_secret";
      httplib::Headers headers;
      if (opts.legacy) {
        if (!opts.omit_signature)
          headers.emplace("x-whop-signature", cs::whop::sign_legacy(key, ts, body));
      } else {
        headers.emplace("webhook-id", webhook_id);
        headers.emplace("webhook-timestamp", std::to_string(ts));
        if (!opts.omit_signature) {
          std::string sig;
          for (const auto& e : opts.extra_signature_entries) sig += e + " ";
          sig += cs::whop::sign_v1(key, webhook_id, ts, body);
          headers.emplace("webhook-signature", sig);
        }
      }
      httplib::Client cli(host);
      cli.set_connection_timeout(std::chrono::seconds(2));
      cli.set_read_timeout(timeout);
      cli.set_write_timeout(timeout);
      auto res = cli.Post(path, headers, body, "application/json");
      result.attempts = attempt + 1;
      result.status = res ? res->status : 0;
      if (result.status >= 200 && result.status < 300) break;
    }
    return result;
  }

  std::string target() const {
    std::lock_guard lk(mu);
    return webhook_target;
  }

  // --- REST plumbing --------------------------------------------------------------------------

  static std::string query_of(const httplib::Request& req) {
    auto q = req.target.find('?');
    return q == std::string::npos ? std::string() : req.target.substr(q + 1);
  }

  std::optional<Fault> take_fault(const std::string& method, const std::string& path) {
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (!it->method.empty() && it->method != method) continue;
      if (path.compare(0, it->path_prefix.size(), it->path_prefix) != 0) continue;
      Fault f = *it;
      if (--it->count <= 0) faults.erase(it);
      return f;
    }
    return std::nullopt;
  }

  // Auth, rate limit, then the handler (under the mutex).
  Reply run(const httplib::Request& req, const std::string& op, const Handler& fn) {
    if (req.get_header_value("Authorization") != "Bearer " + api_key)
      return {401, error_body("unauthorized", "Missing or invalid API key."), {}};
    std::lock_guard lk(mu);
    if (rate_limit) {
      auto now = std::chrono::steady_clock::now();
      auto& win = rate_windows[op];
      while (!win.empty() && now - win.front() >= std::chrono::minutes(1)) win.pop_front();
      if (win.size() >= 600) {
        auto wait =
            std::chrono::ceil<std::chrono::seconds>(win.front() + std::chrono::minutes(1) - now);
        int secs = std::max<int>(1, static_cast<int>(wait.count()));
        return {429, rate_limit_body(secs), secs};
      }
      win.push_back(now);
    }
    try {
      return fn(req);
    } catch (const json::exception& e) {
      return {400, error_body("invalid_params", e.what()), {}};
    }
  }

  void serve(const httplib::Request& req, httplib::Response& res, const std::string& op,
             const Handler& fn) {
    uint64_t seq;
    std::optional<Fault> fault;
    std::function<void(const Call&)> observe;
    {
      std::lock_guard lk(mu);
      seq = calls_base + calls.size();
      calls.push_back(Call{req.method, req.path, query_of(req), req.body, 0});
      fault = take_fault(req.method, req.path);
      observe = observer;
    }
    if (observe) observe(Call{req.method, req.path, query_of(req), req.body, 0});
    std::optional<Reply> reply;
    std::optional<Reply> effect_reply;
    if (fault && fault->apply_effect) effect_reply = run(req, op, fn);
    if (fault && fault->delay_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
    if (fault && fault->drop_connection) {
      set_call_status(seq, 0);
      drop_connection_of(req);
      res.status = 500;  // never reaches the client: its connection is gone
      return;
    }
    if (fault && fault->status != 0) {
      Reply r;
      r.status = fault->status;
      if (fault->status == 429) {
        r.body = rate_limit_body(fault->retry_after_s.value_or(60));
        r.retry_after_s = fault->retry_after_s;
      } else {
        r.body = error_body(status_code_name(fault->status),
                            "Injected fault: HTTP " + std::to_string(fault->status) + ".");
      }
      reply = r;
    } else if (effect_reply) {
      reply = effect_reply;  // pure delay after the effect: answer what the effect answered
    } else {
      reply = run(req, op, fn);
    }
    set_call_status(seq, reply->status);
    res.status = reply->status;
    if (reply->retry_after_s) res.set_header("Retry-After", std::to_string(*reply->retry_after_s));
    res.set_content(reply->body.dump(), "application/json");
  }

  void set_call_status(uint64_t seq, int status) {
    std::lock_guard lk(mu);
    if (seq >= calls_base && seq - calls_base < calls.size())
      calls[seq - calls_base].status = status;
  }

  static std::optional<json> parse_body(const httplib::Request& req) {
    if (req.body.empty()) return json::object();
    auto j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    return j;
  }

  static Reply not_found(const std::string& what, const std::string& id) {
    return {404, error_body("not_found", what + " " + id + " was not found."), {}};
  }
  static Reply invalid(const std::string& message) {
    return {400, error_body("invalid_params", message), {}};
  }
  static Reply invalid_json() {
    return {400, error_body("invalid_json", "The request body is not a JSON object."), {}};
  }

  static int page_size(const httplib::Request& req, std::optional<Reply>& err) {
    if (!req.has_param("first")) return 10;
    auto n = parse_int(req.get_param_value("first"));
    if (!n || *n < 1) {
      err = invalid("first must be a positive integer.");
      return 0;
    }
    return static_cast<int>(std::min<long long>(*n, 100));
  }

  // Cursor pagination over `items` sorted by `key`; the cursor is base64 of the last item's key.
  template <class KeyFn>
  static Reply paginate(const httplib::Request& req, std::vector<json> items, KeyFn key) {
    std::optional<Reply> err;
    int first = page_size(req, err);
    if (err) return *err;
    std::stable_sort(items.begin(), items.end(),
                     [&](const json& a, const json& b) { return key(a) < key(b); });
    size_t start = 0;
    if (req.has_param("after") && !req.get_param_value("after").empty()) {
      auto after = cs::crypto::base64_decode(req.get_param_value("after"));
      if (!after) return invalid("after is not a valid cursor.");
      while (start < items.size() && !(*after < key(items[start]))) ++start;
    }
    json data = json::array();
    size_t i = start;
    for (; i < items.size() && data.size() < static_cast<size_t>(first); ++i)
      data.push_back(items[i]);
    json page_info{{"has_next_page", i < items.size()}};
    page_info["end_cursor"] =
        data.empty() ? json(nullptr) : json(cs::crypto::base64_encode(key(data.back())));
    return {200, json{{"data", data}, {"page_info", page_info}}, {}};
  }

  static std::string payment_key(const json& p) {
    // Fixed-width time so string order is time order (times after 1970).
    char buf[24];
    snprintf(buf, sizeof buf, "%020lld",
             static_cast<long long>(time_field(p, "updated_at").value_or(0)));
    return std::string(buf) + "|" + p.value("id", std::string());
  }

  // --- Routes -----------------------------------------------------------------------------------

  void route(const char* method, const std::string& pattern, const std::string& op, Handler fn) {
    auto h = [this, op, fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
      serve(req, res, op, fn);
    };
    std::string m = method;
    if (m == "GET")
      svr.Get(pattern, h);
    else if (m == "POST")
      svr.Post(pattern, h);
    else if (m == "PUT")
      svr.Put(pattern, h);
    else if (m == "PATCH")
      svr.Patch(pattern, h);
    else if (m == "DELETE")
      svr.Delete(pattern, h);
  }

  void register_rest_routes() {
    const std::string base = "/api/v1";
    const std::string id = "([^/]+)";

    route("GET", base + "/memberships/" + id, "GET /memberships/{id}",
          [this](const httplib::Request& req) -> Reply {
            auto it = memberships.find(req.matches[1]);
            if (it == memberships.end()) return not_found("Membership", req.matches[1]);
            return {200, it->second, {}};
          });

    route("GET", base + "/memberships", "GET /memberships",
          [this](const httplib::Request& req) -> Reply {
            std::string company = req.get_param_value("company_id");
            std::set<std::string> statuses;
            for (const char* k : {"statuses[]", "statuses"})
              for (size_t i = 0; i < req.get_param_value_count(k); ++i)
                statuses.insert(req.get_param_value(k, i));
            std::vector<json> items;
            for (const auto& [mid, m] : memberships) {
              if (!company.empty() && company_of(m) != company) continue;
              if (!statuses.empty() && !statuses.count(m.value("status", std::string()))) continue;
              items.push_back(m);
            }
            return paginate(req, std::move(items),
                            [](const json& m) { return m.value("id", std::string()); });
          });

    route("GET", base + "/payments/" + id, "GET /payments/{id}",
          [this](const httplib::Request& req) -> Reply {
            auto it = payments.find(req.matches[1]);
            if (it == payments.end()) return not_found("Payment", req.matches[1]);
            return {200, it->second, {}};
          });

    route("GET", base + "/payments", "GET /payments", [this](const httplib::Request& req) -> Reply {
      std::string company = req.get_param_value("company_id");
      std::optional<int64_t> after;
      if (req.has_param("updated_after")) {
        after = cs::domain::parse_iso8601_ms(req.get_param_value("updated_after"));
        if (!after) return invalid("updated_after is not an ISO-8601 date-time.");
      }
      std::vector<json> items;
      for (const auto& [pid, p] : payments) {
        if (!company.empty() && company_of(p) != company) continue;
        if (after && !(time_field(p, "updated_at").value_or(0) > *after)) continue;
        items.push_back(p);
      }
      return paginate(req, std::move(items), payment_key);
    });

    route("POST", base + "/memberships/" + id + "/add_free_days",
          "POST /memberships/{id}/add_free_days", [this](const httplib::Request& req) -> Reply {
            auto body = parse_body(req);
            if (!body) return invalid_json();
            auto it = memberships.find(req.matches[1]);
            if (it == memberships.end()) return not_found("Membership", req.matches[1]);
            const json& fd = (*body)["free_days"];
            if (!fd.is_number_integer() || fd.get<int64_t>() < 1 || fd.get<int64_t>() > 1095)
              return invalid("free_days must be an integer from 1 to 1095.");
            int days = fd.get<int>();
            json& m = it->second;
            int64_t now = now_ms();
            int64_t end = time_field(m, "renewal_period_end").value_or(now);
            m["renewal_period_end"] = iso(end + days * kDayMs);
            m["updated_at"] = iso(now);
            grants[it->first].push_back(days);
            return {200, m, {}};
          });

    route("POST", base + "/memberships/" + id + "/cancel", "POST /memberships/{id}/cancel",
          [this](const httplib::Request& req) -> Reply {
            auto body = parse_body(req);
            if (!body) return invalid_json();
            auto it = memberships.find(req.matches[1]);
            if (it == memberships.end()) return not_found("Membership", req.matches[1]);
            std::string mode = "at_period_end";
            if (body->contains("cancellation_mode") && !(*body)["cancellation_mode"].is_null()) {
              if (!(*body)["cancellation_mode"].is_string())
                return invalid("cancellation_mode must be at_period_end or immediate.");
              mode = (*body)["cancellation_mode"].get<std::string>();
            }
            if (mode != "at_period_end" && mode != "immediate")
              return invalid("cancellation_mode must be at_period_end or immediate.");
            json& m = it->second;
            std::string now = iso(now_ms());
            if (mode == "immediate") {
              m["status"] = "canceled";
              m["cancel_at_period_end"] = false;
            } else {
              m["cancel_at_period_end"] = true;
            }
            m["canceled_at"] = now;
            m["updated_at"] = now;
            return {200, m, {}};
          });

    route("POST", base + "/memberships/" + id + "/uncancel", "POST /memberships/{id}/uncancel",
          [this](const httplib::Request& req) -> Reply {
            auto body = parse_body(req);
            if (!body) return invalid_json();
            auto it = memberships.find(req.matches[1]);
            if (it == memberships.end()) return not_found("Membership", req.matches[1]);
            json& m = it->second;
            if (m.value("status", std::string()) == "canceled")
              return invalid("A canceled membership cannot be uncanceled.");
            m["cancel_at_period_end"] = false;
            m["canceled_at"] = nullptr;
            m["updated_at"] = iso(now_ms());
            return {200, m, {}};
          });

    route("POST", base + "/payments/" + id + "/retry", "POST /payments/{id}/retry",
          [this](const httplib::Request& req) -> Reply {
            auto body = parse_body(req);
            if (!body) return invalid_json();
            auto it = payments.find(req.matches[1]);
            if (it == payments.end()) return not_found("Payment", req.matches[1]);
            return {200, it->second, {}};
          });

    route("POST", base + "/notifications", "POST /notifications",
          [](const httplib::Request& req) -> Reply {
            auto body = parse_body(req);
            if (!body) return invalid_json();
            const json& exp = (*body)["experience_id"];
            if (!exp.is_string() || exp.get<std::string>().rfind("exp_", 0) != 0)
              return invalid("experience_id must be an experience id (exp_...).");
            const json& users = (*body)["user_ids"];
            if (!users.is_array() || users.empty())
              return invalid("user_ids must be a non-empty array of user ids.");
            for (const auto& u : users)
              if (!u.is_string()) return invalid("user_ids must be strings.");
            for (const char* k : {"title", "content", "rest_path"})
              if (body->contains(k) && !(*body)[k].is_string() && !(*body)[k].is_null())
                return invalid(std::string(k) + " must be a string.");
            return {200, json{{"success", true}}, {}};
          });

    route("POST", base + "/dm_channels", "POST /dm_channels",
          [this](const httplib::Request& req) -> Reply {
            auto body = parse_body(req);
            if (!body) return invalid_json();
            const json& users = (*body)["with_user_ids"];
            if (!users.is_array() || users.empty())
              return invalid("with_user_ids must be a non-empty array of user ids.");
            std::set<std::string> set;
            for (const auto& u : users) {
              if (!u.is_string()) return invalid("with_user_ids must be strings.");
              set.insert(u.get<std::string>());
            }
            auto [it, fresh] = dm_channels.emplace(set, std::string());
            if (fresh) {
              it->second = "feed_" + random_alnum(16);
              channel_ids.insert(it->second);
            }
            return {200, json{{"id", it->second}}, {}};
          });

    route("POST", base + "/messages", "POST /messages",
          [this](const httplib::Request& req) -> Reply {
            auto body = parse_body(req);
            if (!body) return invalid_json();
            const json& ch = (*body)["channel_id"];
            const json& content = (*body)["content"];
            if (!ch.is_string()) return invalid("channel_id is required.");
            if (!content.is_string() || content.get<std::string>().empty())
              return invalid("content must be a non-empty string.");
            if (!channel_ids.count(ch.get<std::string>()))
              return not_found("Channel", ch.get<std::string>());
            return {200, json{{"id", "msg_" + random_alnum(24)}}, {}};
          });

    // Anything else under /api/v1: logged, authenticated, 404.
    for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      route(m, base + "/.*", std::string(m) + " (unknown)",
            [](const httplib::Request& req) -> Reply {
              return {404, error_body("not_found", "No route " + req.method + " " + req.path), {}};
            });
    }
  }

  // --- Control API (/_fake) ---------------------------------------------------------------------

  void control(const char* method, const std::string& pattern,
               std::function<json(const httplib::Request&)> fn) {
    auto h = [this, fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
      if (!control_api.load()) {
        res.status = 404;
        res.set_content(error_body("not_found", "control API is off").dump(), "application/json");
        return;
      }
      try {
        res.set_content(fn(req).dump(), "application/json");
        res.status = 200;
      } catch (const std::exception& e) {
        res.status = 400;
        res.set_content(error_body("invalid_params", e.what()).dump(), "application/json");
      }
    };
    std::string m = method;
    if (m == "GET")
      svr.Get(pattern, h);
    else if (m == "POST")
      svr.Post(pattern, h);
    else if (m == "DELETE")
      svr.Delete(pattern, h);
  }

  static json body_json(const httplib::Request& req) {
    return req.body.empty() ? json::object() : json::parse(req.body);
  }

  void register_control_routes(FakeWhop& self) {
    control("POST", "/_fake/deliver", [this](const httplib::Request& req) {
      json b = body_json(req);
      std::string target = b.value("target", std::string());
      if (target.empty()) target = this->target();
      DeliveryOptions opts = options_from_json(b.value("options", json::object()));
      DeliveryResult r;
      if (b.contains("body") && b["body"].is_string()) {
        r = deliver_to(target, b["body"].get<std::string>(),
                       b.value("webhook_id", FakeWhop::new_webhook_id()), opts);
      } else {
        json event = b.at("event");
        if (!event.contains("id")) event["id"] = FakeWhop::new_webhook_id();
        r = deliver_to(target, event.dump(), event["id"].get<std::string>(), opts);
      }
      return json{{"webhook_id", r.webhook_id}, {"status", r.status}, {"attempts", r.attempts}};
    });
    control("GET", "/_fake/calls", [&self](const httplib::Request&) {
      json out = json::array();
      for (const auto& c : self.calls()) out.push_back(call_to_json(c));
      return out;
    });
    control("DELETE", "/_fake/calls", [&self](const httplib::Request&) {
      self.clear_calls();
      return json{{"ok", true}};
    });
    control("POST", "/_fake/memberships", [&self](const httplib::Request& req) {
      self.put_membership(body_json(req));
      return json{{"ok", true}};
    });
    control("GET", "/_fake/memberships/([^/]+)", [&self](const httplib::Request& req) {
      auto m = self.membership(req.matches[1]);
      if (!m) throw std::invalid_argument("unknown membership");
      return json{{"membership", *m}, {"free_day_grants", self.free_day_grants(req.matches[1])}};
    });
    control("POST", "/_fake/payments", [&self](const httplib::Request& req) {
      self.put_payment(body_json(req));
      return json{{"ok", true}};
    });
    control("POST", "/_fake/faults", [&self](const httplib::Request& req) {
      Fault f = fault_from_json(body_json(req));
      self.inject(f);
      return fault_to_json(f);
    });
    control("DELETE", "/_fake/faults", [&self](const httplib::Request&) {
      self.clear_faults();
      return json{{"ok", true}};
    });
    control("POST", "/_fake/rate_limit", [&self](const httplib::Request& req) {
      bool on = body_json(req).value("on", true);
      self.enforce_rate_limit(on);
      return json{{"on", on}};
    });
  }
};

// ------------------------------------------------------------------------------------------------

FakeWhop::FakeWhop(std::string secret, std::string api_key, double retry_scale, int port)
    : impl_(std::make_unique<Impl>(std::move(secret), std::move(api_key), retry_scale)) {
  // Writing to a connection the peer (or a drop fault) closed must not kill the test process.
  std::signal(SIGPIPE, SIG_IGN);
  impl_->svr.set_tcp_nodelay(true);
  impl_->register_rest_routes();
  impl_->register_control_routes(*this);
  if (port == 0) {
    impl_->port = impl_->svr.bind_to_any_port("127.0.0.1");
  } else if (impl_->svr.bind_to_port("127.0.0.1", port)) {
    impl_->port = port;
  } else {
    impl_->port = -1;
  }
  if (impl_->port <= 0)
    throw std::runtime_error("FakeWhop: cannot bind 127.0.0.1:" + std::to_string(port));
  impl_->thread = std::thread([this] { impl_->svr.listen_after_bind(); });
  // The socket already listens; wait for the accept loop so is_running() holds on return.
  while (!impl_->svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeWhop::~FakeWhop() {
  impl_->svr.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int FakeWhop::port() const {
  return impl_->port;
}

std::string FakeWhop::api_base() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + "/api/v1";
}

void FakeWhop::set_webhook_target(const std::string& url) {
  std::lock_guard lk(impl_->mu);
  impl_->webhook_target = url;
}

DeliveryResult FakeWhop::deliver(const json& event, const DeliveryOptions& opts) {
  json e = event;
  if (!e.contains("id") || !e["id"].is_string()) e["id"] = new_webhook_id();
  return impl_->deliver_to(impl_->target(), e.dump(), e["id"].get<std::string>(), opts);
}

DeliveryResult FakeWhop::deliver_raw(const std::string& body, const std::string& webhook_id,
                                     const DeliveryOptions& opts) {
  return impl_->deliver_to(impl_->target(), body, webhook_id, opts);
}

std::vector<DeliveryResult> FakeWhop::deliver_shuffled(const std::vector<json>& events,
                                                       uint32_t seed, int copies) {
  std::vector<json> all;
  for (const auto& ev : events) {
    json e = ev;
    if (!e.contains("id") || !e["id"].is_string()) e["id"] = new_webhook_id();
    for (int c = 0; c < copies; ++c) all.push_back(e);
  }
  std::mt19937 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<DeliveryResult> out;
  out.reserve(all.size());
  for (const auto& e : all) out.push_back(deliver(e));
  return out;
}

// --- Event builders ------------------------------------------------------------------------------

namespace {

const char* kCompanyId = "biz_Qw12Er34Ty56Ui";

json company_json(bool with_route) {
  json c{{"id", kCompanyId}};
  if (with_route) c["route"] = "pickaxe";
  c["title"] = "Pickaxe";
  return c;
}

json envelope(const std::string& type, int64_t time_ms, json data) {
  return json{{"id", FakeWhop::new_webhook_id()}, {"api_version", "v1"},
              {"timestamp", iso(time_ms)},        {"type", type},
              {"data", std::move(data)},          {"company_id", kCompanyId}};
}

double round2(double x) {
  return std::round(x * 100.0) / 100.0;
}

}  // namespace

json FakeWhop::payment_event(const std::string& type, const PaymentSpec& spec) {
  const int64_t t = spec.time_ms != 0 ? spec.time_ms : now_ms();
  const bool failed = type == "payment.failed";
  const bool succeeded = type == "payment.succeeded";
  json d;
  d["id"] = spec.payment_id;
  d["status"] = failed ? "open" : succeeded ? "paid" : "pending";
  d["substatus"] = failed ? "failed" : succeeded ? "succeeded" : "pending";
  d["created_at"] = iso(t - 30 * kDayMs);
  d["updated_at"] = iso(t);
  d["paid_at"] = succeeded ? json(iso(t)) : json(nullptr);
  d["last_payment_attempt"] = iso(t);
  d["next_payment_attempt"] = failed ? json(iso(t + 3 * kDayMs)) : json(nullptr);
  d["dispute_alerted_at"] = nullptr;
  d["refunded_at"] = nullptr;
  d["currency"] = spec.currency;
  d["settlement_currency"] = spec.currency;
  d["total"] = spec.total;
  d["subtotal"] = spec.total;
  d["usd_total"] = spec.total;
  d["settlement_amount"] = spec.total;
  d["amount_after_fees"] = round2(spec.total - round2(spec.total * 0.0834));
  d["refunded_amount"] = nullptr;
  d["tax_amount"] = 0;
  d["tax_refunded_amount"] = nullptr;
  d["tax_behavior"] = "exclusive";
  d["settlement_exchange_rate"] = nullptr;
  d["billing_reason"] = "subscription_cycle";
  d["failure_message"] = failed ? json(spec.failure_message) : json(nullptr);
  d["payments_failed"] = failed ? 1 : 0;
  d["retryable"] = failed;
  d["voidable"] = failed;
  d["refundable"] = succeeded;
  d["auto_refunded"] = false;
  d["three_ds_verified"] = false;
  d["card_brand"] = "visa";
  d["card_last4"] = "4242";
  d["payment_method_type"] = "card";
  d["payment_method"] = {
      {"id", "pmt_Xy12Zz34Ww56Vv"},
      {"created_at", "2026-01-01T00:00:00.000Z"},
      {"payment_method_type", "card"},
      {"card", {{"brand", "visa"}, {"last4", "4242"}, {"exp_month", 12}, {"exp_year", 27}}}};
  d["checkout_configuration_id"] = nullptr;
  d["financing_installments_count"] = nullptr;
  d["financing_transactions"] = json::array();
  d["risk_score"] = nullptr;
  d["risk_signals"] = nullptr;
  d["application_fee"] = nullptr;
  d["billing_address"] = nullptr;
  d["shipping_address"] = nullptr;
  d["metadata"] = json::object();
  d["company"] = company_json(true);
  d["member"] = {{"id", "mber_Lk12Jh34Gf56D"}, {"phone", nullptr}};
  d["membership"] = {{"id", spec.membership_id},
                     {"status", succeeded ? "active" : "past_due"},
                     {"phone_number", nullptr}};
  d["plan"] = {
      {"id", "plan_Po12Iu34Yt56R"}, {"internal_notes", nullptr}, {"metadata", json::object()}};
  d["product"] = {{"id", "prod_As12Df34Gh56J"},
                  {"route", "pickaxe-analytics"},
                  {"title", "Pickaxe Analytics"},
                  {"metadata", json::object()}};
  d["promo_code"] = nullptr;
  d["user"] = {{"id", spec.user_id},
               {"email", spec.email},
               {"name", spec.name},
               {"username", spec.username}};
  d["disputes"] = json::array();
  d["refunds"] = json::array();
  d["resolutions"] = json::array();
  return envelope(type, t, std::move(d));
}

json FakeWhop::membership_event(const std::string& type, const std::string& membership_id,
                                const std::string& user_id, int64_t time_ms) {
  const int64_t t = time_ms != 0 ? time_ms : now_ms();
  const bool deactivated = type == "membership.deactivated";
  const bool cancel_changed = type == "membership.cancel_at_period_end_changed";
  // The default user keeps the fixture's profile; any other user gets one derived from its id.
  PaymentSpec defaults;
  std::string username = defaults.username, name = defaults.name, email = defaults.email;
  if (user_id != defaults.user_id) {
    std::string suffix = user_id.rfind("user_", 0) == 0 ? user_id.substr(5) : user_id;
    std::string lower = suffix;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    username = "member_" + lower;
    name = "Member " + suffix;
    email = lower + "@example.com";
  }
  json d;
  d["id"] = membership_id;
  d["status"] = deactivated ? "canceled" : "active";
  d["created_at"] = iso(t - 90 * kDayMs);
  d["updated_at"] = iso(t);
  d["joined_at"] = iso(t - 90 * kDayMs);
  const int64_t start = deactivated ? t - 30 * kDayMs : cancel_changed ? t - 15 * kDayMs : t;
  d["renewal_period_start"] = iso(start);
  d["renewal_period_end"] = iso(start + 30 * kDayMs);
  d["cancel_at_period_end"] = cancel_changed;
  d["cancel_option"] = cancel_changed ? json("too_expensive") : json(nullptr);
  d["cancellation_reason"] = cancel_changed ? json("I found a better alternative.") : json(nullptr);
  d["canceled_at"] = (deactivated || cancel_changed) ? json(iso(t)) : json(nullptr);
  d["currency"] = "usd";
  d["manage_url"] = "https://whop.com/billing/manage/" + membership_id;
  d["member"] = {{"id", "mber_Lk12Jh34Gf56D"}};
  d["user"] = {{"id", user_id}, {"username", username}, {"name", name}, {"email", email}};
  d["company"] = company_json(false);
  d["plan"] = {{"id", "plan_Po12Iu34Yt56R"}, {"metadata", json::object()}};
  d["product"] = {
      {"id", "prod_As12Df34Gh56J"}, {"title", "Pickaxe Analytics"}, {"metadata", json::object()}};
  d["promo_code"] = nullptr;
  d["license_key"] = nullptr;
  d["metadata"] = json::object();
  d["payment_collection_paused"] = false;
  d["checkout_configuration_id"] = nullptr;
  d["custom_field_responses"] = json::array();
  return envelope(type, t, std::move(d));
}

std::string FakeWhop::new_webhook_id() {
  return "msg_" + random_alnum(24);
}

// --- REST state ----------------------------------------------------------------------------------

void FakeWhop::put_membership(const json& membership) {
  if (!membership.is_object() || !membership.contains("id") || !membership["id"].is_string())
    throw std::invalid_argument("FakeWhop::put_membership: membership needs a string \"id\"");
  std::lock_guard lk(impl_->mu);
  impl_->memberships[membership["id"].get<std::string>()] = membership;
}

std::optional<json> FakeWhop::membership(const std::string& id) const {
  std::lock_guard lk(impl_->mu);
  auto it = impl_->memberships.find(id);
  if (it == impl_->memberships.end()) return std::nullopt;
  return it->second;
}

void FakeWhop::put_payment(const json& payment) {
  if (!payment.is_object() || !payment.contains("id") || !payment["id"].is_string())
    throw std::invalid_argument("FakeWhop::put_payment: payment needs a string \"id\"");
  if (!time_field(payment, "updated_at"))
    throw std::invalid_argument("FakeWhop::put_payment: payment needs an ISO \"updated_at\"");
  std::lock_guard lk(impl_->mu);
  impl_->payments[payment["id"].get<std::string>()] = payment;
}

std::vector<int> FakeWhop::free_day_grants(const std::string& membership_id) const {
  std::lock_guard lk(impl_->mu);
  auto it = impl_->grants.find(membership_id);
  return it == impl_->grants.end() ? std::vector<int>{} : it->second;
}

void FakeWhop::inject(const Fault& fault) {
  if (fault.count <= 0) return;
  std::lock_guard lk(impl_->mu);
  impl_->faults.push_back(fault);
}

void FakeWhop::clear_faults() {
  std::lock_guard lk(impl_->mu);
  impl_->faults.clear();
}

void FakeWhop::enforce_rate_limit(bool on) {
  std::lock_guard lk(impl_->mu);
  impl_->rate_limit = on;
  if (!on) impl_->rate_windows.clear();
}

std::vector<Call> FakeWhop::calls() const {
  std::lock_guard lk(impl_->mu);
  return impl_->calls;
}

std::vector<Call> FakeWhop::calls(const std::string& method, const std::string& path_prefix) const {
  std::lock_guard lk(impl_->mu);
  std::vector<Call> out;
  for (const auto& c : impl_->calls)
    if (c.method == method && c.path.compare(0, path_prefix.size(), path_prefix) == 0)
      out.push_back(c);
  return out;
}

void FakeWhop::clear_calls() {
  std::lock_guard lk(impl_->mu);
  impl_->calls_base += impl_->calls.size();
  impl_->calls.clear();
}

void FakeWhop::set_call_observer(std::function<void(const Call&)> fn) {
  std::lock_guard lk(impl_->mu);
  impl_->observer = std::move(fn);
}

void FakeWhop::enable_control_api(bool on) {
  impl_->control_api.store(on);
}

}  // namespace cs::test
