// The Whop REST client (see client.h and shared/WHOP.md §3).
#include "whop/client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <httplib.h>

#include "domain/backoff.h"
#include "domain/time.h"
#include "util/log.h"

namespace cs::whop {

using nlohmann::json;

namespace {

constexpr int64_t kMaxRetryAfterMs = 7 * kDayMs;
constexpr size_t kMaxWhopMessage = 300;

std::string percent_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

using Query = std::vector<std::pair<std::string, std::string>>;

// Keys are our constants (kept as written, e.g. "statuses[]"); values are percent-encoded.
std::string build_query(const Query& q) {
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += percent_encode(v);
  }
  return out;
}

// Whop's messages are shown to people and stored: one line, bounded.
std::string clean_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= kMaxWhopMessage) {
      out += "...";
      break;
    }
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  }
  return out;
}

// "45 seconds", "1 second", "0.3 seconds" (short durations keep a decimal; longer ones round up).
std::string seconds_text(int64_t ms) {
  if (ms < 10000 && ms % 1000 != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f seconds", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  int64_t s = (ms + 999) / 1000;
  return std::to_string(s) + (s == 1 ? " second" : " seconds");
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

std::string status_phrase(int status) {
  switch (status) {
    case 400:
    case 422:
      return "Whop rejected the request";
    case 401:
      return "Whop did not accept the API key";
    case 403:
      return "Whop refused the request: the API key lacks the permission";
    case 404:
      return "Whop could not find it";
    case 408:
      return "Whop timed out waiting for the request";
    case 409:
      return "Whop reported a conflict with another change";
    case 429:
      return "Whop's rate limit was reached";
    case 503:
      return "Whop is unavailable";
    default:
      if (status >= 500) return "Whop had a server error";
      if (status >= 300 && status < 400) return "Whop answered with an unexpected redirect";
      return "Whop answered with an unexpected status";
  }
}

std::string status_hint(int status) {
  switch (status) {
    case 401:
      return " Check CHURN_SAVER_WHOP_API_KEY.";
    case 403:
      return " Give the API key this permission in Whop's developer settings.";
    default:
      return "";
  }
}

enum class Breaker { Closed, Open, HalfOpen };

const char* breaker_name(Breaker b) {
  switch (b) {
    case Breaker::Closed:
      return "closed";
    case Breaker::Open:
      return "open";
    case Breaker::HalfOpen:
      return "half_open";
  }
  return "closed";
}

struct OpState {
  std::deque<int64_t> window;  // request times within the last minute
  Breaker breaker = Breaker::Closed;
  int failures = 0;
  int64_t open_until = 0;
  bool trial_in_flight = false;
};

struct Request {
  std::string op;
  std::string method;  // "GET" | "POST"
  std::string path;    // below the API base, e.g. "/memberships/mem_x"
  std::string query;   // encoded, without '?'
  std::optional<json> body;
};

// What one HTTP attempt came to.
struct Attempt {
  bool ok = false;
  json value;
  ApiError error;
  std::string metric;            // outcome for calls()
  bool breaker_failure = false;  // counts towards opening the breaker
};

}  // namespace

struct Client::Impl {
  ClientConfig cfg;
  const Clock& clock;
  Sleep sleep;
  Random random01;
  std::string scheme_host;  // "https://api.whop.com"
  std::string prefix;       // "/api/v1"

  mutable std::mutex key_mu;  // guards cfg.api_key (set_api_key)
  mutable std::mutex mu;      // guards ops, counts, rng
  std::map<std::string, OpState> ops;
  std::map<std::pair<std::string, std::string>, uint64_t> counts;
  std::mt19937_64 rng{std::random_device{}()};

  std::string api_key() const {
    std::lock_guard<std::mutex> lock(key_mu);
    return cfg.api_key;
  }

  Impl(ClientConfig c, const Clock& clk, Sleep s, Random r)
      : cfg(std::move(c)), clock(clk), sleep(std::move(s)), random01(std::move(r)) {
    const std::string& base = cfg.api_base;
    auto scheme_end = base.find("://");
    std::string scheme = scheme_end == std::string::npos ? "" : base.substr(0, scheme_end);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    auto bad = [&]() {
      return std::invalid_argument(
          "CHURN_SAVER_WHOP_API_BASE must be an http(s) URL such as "
          "https://api.whop.com/api/v1, got \"" +
          clean_text(base) + "\"");
    };
    if (scheme != "https" && scheme != "http") throw bad();
    auto slash = base.find('/', scheme_end + 3);
    std::string authority = base.substr(
        scheme_end + 3, slash == std::string::npos ? std::string::npos : slash - scheme_end - 3);
    if (authority.empty() || authority.find_first_of("?#@ ") != std::string::npos) throw bad();
    prefix = slash == std::string::npos ? "" : base.substr(slash);
    if (prefix.find_first_of("?# ") != std::string::npos) throw bad();
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    scheme_host = scheme + "://" + authority;
    if (scheme == "http") {
      std::string host =
          authority.substr(0, authority.rfind(':') == std::string::npos || authority.back() == ']'
                                  ? std::string::npos
                                  : authority.rfind(':'));
      if (!is_loopback_host(host))
        log::warn("Whop API base uses plain http: the API key travels unencrypted",
                  {{"host", authority}});
    }
    if (!sleep) {
      sleep = [](int64_t ms) {
        if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      };
    }
    cfg.max_retries = std::max(0, cfg.max_retries);
    cfg.rate_limit_per_minute = std::max(1, cfg.rate_limit_per_minute);
    cfg.breaker_failures = std::max(1, cfg.breaker_failures);
  }

  double jitter() {
    if (random01) return random01();
    std::lock_guard lk(mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  void count(const std::string& op, const std::string& outcome) {
    std::lock_guard lk(mu);
    ++counts[{op, outcome}];
  }

  // --- Circuit breaker ------------------------------------------------------------------------

  // nullopt: go ahead (`trial` says whether this is the half-open trial); else the refusal.
  std::optional<ApiError> admit(const std::string& op, bool& trial) {
    std::lock_guard lk(mu);
    OpState& st = ops[op];
    const int64_t now = clock.now_ms();
    trial = false;
    if (st.breaker == Breaker::Open && now >= st.open_until) {
      st.breaker = Breaker::HalfOpen;
      st.trial_in_flight = false;
      log::info("whop breaker half-open", {{"op", op}});
    }
    if (st.breaker == Breaker::Closed) return std::nullopt;
    if (st.breaker == Breaker::HalfOpen && !st.trial_in_flight) {
      st.trial_in_flight = true;
      trial = true;
      return std::nullopt;
    }
    ApiError e;
    e.operation = op;
    e.code = "breaker_open";
    e.retryable = true;
    e.breaker_open = true;
    if (st.breaker == Breaker::Open) {
      e.retry_after_ms = std::max<int64_t>(1, st.open_until - now);
      e.message = "Calls to Whop for " + op + " are paused for " + seconds_text(*e.retry_after_ms) +
                  " after " + std::to_string(st.failures) +
                  " failures in a row (circuit breaker open).";
    } else {
      // Half-open with a trial in flight: try again once that trial has had time to finish.
      e.retry_after_ms = int64_t{cfg.connect_timeout_ms} + cfg.read_timeout_ms;
      e.message = "Calls to Whop for " + op +
                  " are paused while a trial call checks whether Whop has recovered "
                  "(circuit breaker half-open).";
    }
    return e;
  }

  // A trial that ended without an answer (e.g. refused by the local limit) frees the slot.
  void release_trial(const std::string& op) {
    std::lock_guard lk(mu);
    OpState& st = ops[op];
    if (st.breaker == Breaker::HalfOpen) st.trial_in_flight = false;
  }

  // Records an attempt; returns the remaining open time when the breaker is open afterwards.
  std::optional<int64_t> record(const std::string& op, bool failure, bool trial) {
    std::lock_guard lk(mu);
    OpState& st = ops[op];
    const int64_t now = clock.now_ms();
    if (trial) st.trial_in_flight = false;
    if (!failure) {
      if (st.breaker != Breaker::Closed) log::info("whop breaker closed", {{"op", op}});
      st.failures = 0;
      st.breaker = Breaker::Closed;
      return std::nullopt;
    }
    ++st.failures;
    const bool open_now = (st.breaker == Breaker::Closed && st.failures >= cfg.breaker_failures) ||
                          (st.breaker == Breaker::HalfOpen && trial);
    if (open_now) {
      st.breaker = Breaker::Open;
      st.open_until = now + cfg.breaker_open_ms;
      log::warn(
          "whop breaker open",
          {{"op", op}, {"consecutive_failures", st.failures}, {"open_ms", cfg.breaker_open_ms}});
    }
    if (st.breaker == Breaker::Open) return std::max<int64_t>(1, st.open_until - now);
    return std::nullopt;
  }

  // --- Rate limit -----------------------------------------------------------------------------

  // Takes a slot (returns 0) or says how long until one frees up.
  int64_t rate_acquire(const std::string& op) {
    std::lock_guard lk(mu);
    OpState& st = ops[op];
    const int64_t now = clock.now_ms();
    while (!st.window.empty() && now - st.window.front() >= kMinuteMs) st.window.pop_front();
    if (st.window.size() < static_cast<size_t>(cfg.rate_limit_per_minute)) {
      st.window.push_back(now);
      return 0;
    }
    return std::max<int64_t>(1, st.window.front() + kMinuteMs - now);
  }

  // --- One HTTP attempt -----------------------------------------------------------------------

  ApiError base_error(const Request& rq) const {
    ApiError e;
    e.operation = rq.op;
    return e;
  }

  Attempt send(const Request& rq) {
    const bool is_post = rq.method != "GET";
    httplib::Client cli(scheme_host);
    cli.set_connection_timeout(std::chrono::milliseconds(cfg.connect_timeout_ms));
    cli.set_read_timeout(std::chrono::milliseconds(cfg.read_timeout_ms));
    cli.set_write_timeout(std::chrono::milliseconds(cfg.read_timeout_ms));
    cli.set_tcp_nodelay(true);
    cli.set_keep_alive(false);
    cli.set_follow_location(false);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    cli.enable_server_certificate_verification(true);
#endif
    httplib::Headers headers{{"Authorization", "Bearer " + api_key()},
                             {"Accept", "application/json"},
                             {"User-Agent", std::string("churn-saver/") + CHURN_SAVER_VERSION}};
    std::string target = prefix + rq.path;
    if (!rq.query.empty()) target += "?" + rq.query;

    const auto started = std::chrono::steady_clock::now();
    httplib::Result res =
        is_post ? cli.Post(target, headers, rq.body ? rq.body->dump() : "{}", "application/json")
                : cli.Get(target, headers);
    const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();

    Attempt a;
    a.error = base_error(rq);
    ApiError& e = a.error;
    if (!res) return no_answer(rq, res.error(), elapsed_ms);

    const int status = res->status;
    e.status = status;
    json body = json::parse(res->body, nullptr, false);
    const bool json_ok = !body.is_discarded();

    if (status >= 200 && status < 300) {
      if (res->body.empty()) {
        a.ok = true;
        a.value = json::object();
      } else if (json_ok) {
        a.ok = true;
        a.value = std::move(body);
      }
      if (a.ok) {
        a.metric = "ok";
        return a;
      }
      a.metric = "bad_response";
      a.breaker_failure = true;
      e.code = "bad_response";
      e.retryable = true;
      e.outcome_unknown = is_post;
      e.message = "Whop answered " + std::to_string(status) + " but the answer was not JSON" +
                  (is_post ? "; the action probably took effect." : ".");
      return a;
    }

    // An error answer: {"error": {"code"|"type", "message"}} (or something close).
    std::string code, whop_message;
    if (json_ok && body.is_object()) {
      const json* err = body.contains("error") ? &body["error"] : &body;
      if (err->is_object()) {
        for (const char* k : {"code", "type"})
          if (code.empty() && err->contains(k) && (*err)[k].is_string())
            code = (*err)[k].get<std::string>();
        if (err->contains("message") && (*err)["message"].is_string())
          whop_message = (*err)["message"].get<std::string>();
      } else if (err->is_string()) {
        whop_message = err->get<std::string>();
      }
    }
    e.code = code.empty() ? "http_" + std::to_string(status) : clean_text(code);
    e.message = status_phrase(status) + " (" + std::to_string(status) +
                (code.empty() ? "" : " " + e.code) + ")" +
                (whop_message.empty() ? (json_ok ? "." : ": the answer was not JSON.")
                                      : ": " + clean_text(whop_message)) +
                status_hint(status);
    if (res->has_header("Retry-After"))
      e.retry_after_ms = parse_retry_after_ms(res->get_header_value("Retry-After"), clock.now_ms());

    if (status == 429) {
      a.metric = "http_429";
      e.retryable = true;  // rejected before processing: safe for POSTs too
    } else if (status == 408 || status == 409) {
      a.metric = "http_4xx";
      e.retryable = true;
      a.breaker_failure = status == 408;
    } else if (status >= 500) {
      a.metric = "http_5xx";
      e.retryable = true;
      e.outcome_unknown = is_post;
      a.breaker_failure = true;
      if (is_post) e.message += " The action may have taken effect.";
    } else {
      a.metric = "http_4xx";
      e.retryable = false;
    }
    return a;
  }

  Attempt no_answer(const Request& rq, httplib::Error err, int64_t elapsed_ms) {
    const bool is_post = rq.method != "GET";
    Attempt a;
    a.error = base_error(rq);
    ApiError& e = a.error;
    a.breaker_failure = true;
    e.retryable = true;
    switch (err) {
      case httplib::Error::Connection:
      case httplib::Error::ConnectionTimeout:
      case httplib::Error::BindIPAddress:
        // Nothing was sent: safe to retry, POSTs included.
        a.metric = "network";
        e.code = "connection_failed";
        e.message =
            "Could not connect to Whop at " + scheme_host + " (" + httplib::to_string(err) + ").";
        return a;
      case httplib::Error::SSLConnection:
        a.metric = "tls";
        e.code = "tls";
        e.message = "The TLS handshake with " + scheme_host + " failed.";
        return a;
      case httplib::Error::SSLServerVerification:
      case httplib::Error::SSLLoadingCerts:
        a.metric = "tls";
        e.code = "tls";
        e.retryable = false;
        e.message = "Could not verify the TLS certificate of " + scheme_host +
                    " (check the system CA certificates and the clock).";
        return a;
      default:
        break;
    }
    // Read/Write errors: the request may have been (partly) sent.
    e.outcome_unknown = is_post;
    // httplib reports a read timeout and a closed connection alike; the time taken tells them
    // apart.
    const bool timed_out = elapsed_ms + 50 >= cfg.read_timeout_ms;
    const std::string effect = is_post ? " The action may have taken effect." : "";
    if (timed_out) {
      a.metric = "timeout";
      e.code = "timeout";
      e.message = "Whop did not answer within " + seconds_text(cfg.read_timeout_ms) + "." + effect;
    } else {
      a.metric = "network";
      e.code = "connection_lost";
      e.message = "The connection to Whop was lost before an answer (" + httplib::to_string(err) +
                  ")." + effect;
    }
    return a;
  }

  // --- A call: admission, limit, attempts, retries ----------------------------------------------

  ApiResult<json> execute(const Request& rq) {
    const bool is_post = rq.method != "GET";
    if (api_key().empty()) {
      count(rq.op, "not_configured");
      ApiError e = base_error(rq);
      e.code = "not_configured";
      e.message = "No Whop API key is configured (CHURN_SAVER_WHOP_API_KEY).";
      return e;
    }
    int attempts = 0;
    int64_t waited = 0;
    for (;;) {
      bool trial = false;
      if (auto refused = admit(rq.op, trial)) {
        count(rq.op, "breaker_open");
        refused->attempts = attempts;
        return *refused;
      }
      // Client-side limit: wait for a slot, within bounds.
      for (;;) {
        int64_t w = rate_acquire(rq.op);
        if (w == 0) break;
        if (w > cfg.max_wait_ms || waited + w > cfg.call_wait_budget_ms) {
          if (trial) release_trial(rq.op);
          count(rq.op, "throttled");
          ApiError e = base_error(rq);
          e.code = "rate_limited_locally";
          e.retryable = true;
          e.retry_after_ms = w;
          e.attempts = attempts;
          e.message = "Churn Saver's limit of " + std::to_string(cfg.rate_limit_per_minute) + " " +
                      rq.op + " calls per minute is reached; next slot in " + seconds_text(w) + ".";
          return e;
        }
        sleep(w);
        waited += w;
      }

      ++attempts;
      Attempt a;
      try {
        a = send(rq);
      } catch (...) {
        if (trial) release_trial(rq.op);
        throw;
      }
      count(rq.op, a.metric);
      auto open_for = record(rq.op, !a.ok && a.breaker_failure, trial);
      if (a.ok) {
        log::debug("whop call", {{"op", rq.op}, {"status", a.error.status}, {"attempt", attempts}});
        return std::move(a.value);
      }

      ApiError e = std::move(a.error);
      e.attempts = attempts;
      if (open_for) e.retry_after_ms = std::max(e.retry_after_ms.value_or(0), *open_for);
      const bool may_retry = e.retryable && !(is_post && e.outcome_unknown) && !open_for &&
                             attempts <= cfg.max_retries;
      int64_t delay = 0;
      if (may_retry) {
        delay = e.retry_after_ms ? *e.retry_after_ms
                                 : domain::retry_delay_ms(attempts, jitter(), cfg.backoff_base_ms,
                                                          cfg.backoff_cap_ms);
      }
      const bool too_long =
          may_retry && (delay > cfg.max_wait_ms || waited + delay > cfg.call_wait_budget_ms);
      json fields{{"op", rq.op},
                  {"status", e.status},
                  {"code", e.code},
                  {"attempt", attempts},
                  {"outcome", a.metric}};
      if (!may_retry || too_long) {
        if (too_long) e.retry_after_ms = delay;
        if (e.outcome_unknown) fields["outcome_unknown"] = true;
        (e.retryable ? log::warn : log::info)("whop call failed", fields);
        return e;
      }
      fields["retry_in_ms"] = delay;
      log::info("whop call retrying", fields);
      sleep(delay);
      waited += delay;
    }
  }

  static ApiResult<Page> to_page(const std::string& op, ApiResult<json> r) {
    if (!r) return r.error();
    const json& j = *r;
    Page p;
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) {
      ApiError e;
      e.operation = op;
      e.status = 200;
      e.code = "unexpected_response";
      e.message = "Whop's answer to " + op + " had no \"data\" list.";
      return e;
    }
    p.data = j["data"].get<std::vector<json>>();
    if (j.contains("page_info") && j["page_info"].is_object()) {
      const json& pi = j["page_info"];
      if (pi.contains("end_cursor") && pi["end_cursor"].is_string())
        p.end_cursor = pi["end_cursor"].get<std::string>();
      if (pi.contains("has_next_page") && pi["has_next_page"].is_boolean())
        p.has_next_page = pi["has_next_page"].get<bool>();
    }
    return p;
  }

  static ApiResult<std::string> string_field(const std::string& op, ApiResult<json> r,
                                             const char* field) {
    if (!r) return r.error();
    const json& j = *r;
    if (j.is_object() && j.contains(field) && j[field].is_string())
      return j[field].get<std::string>();
    ApiError e;
    e.operation = op;
    e.status = 200;
    e.code = "unexpected_response";
    e.outcome_unknown = true;  // a POST that was answered 2xx: it took effect
    e.message = "Whop's answer to " + op + " had no \"" + field + "\".";
    return e;
  }

  Request get(std::string op, std::string path, const Query& q = {}) {
    return Request{std::move(op), "GET", std::move(path), build_query(q), std::nullopt};
  }
  Request post(std::string op, std::string path, json body = json::object()) {
    return Request{std::move(op), "POST", std::move(path), "", std::move(body)};
  }
};

// ------------------------------------------------------------------------------------------------

void Client::set_api_key(const std::string& api_key) {
  std::lock_guard<std::mutex> lock(impl_->key_mu);
  impl_->cfg.api_key = api_key;
}

Client::Client(ClientConfig config, const Clock& clock, Sleep sleep, Random random01)
    : impl_(std::make_unique<Impl>(std::move(config), clock, std::move(sleep),
                                   std::move(random01))) {}

Client::~Client() = default;

const std::string& Client::host() const {
  return impl_->scheme_host;
}

ApiResult<json> Client::get_membership(const std::string& membership_id) {
  return impl_->execute(
      impl_->get("get_membership", "/memberships/" + percent_encode(membership_id)));
}

ApiResult<Page> Client::list_memberships(const std::string& company_id,
                                         const std::vector<std::string>& statuses,
                                         const std::optional<std::string>& after, int first) {
  Query q{{"company_id", company_id}};
  for (const auto& s : statuses) q.emplace_back("statuses[]", s);
  q.emplace_back("first", std::to_string(first));
  if (after) q.emplace_back("after", *after);
  return Impl::to_page("list_memberships",
                       impl_->execute(impl_->get("list_memberships", "/memberships", q)));
}

ApiResult<json> Client::get_payment(const std::string& payment_id) {
  return impl_->execute(impl_->get("get_payment", "/payments/" + percent_encode(payment_id)));
}

ApiResult<Page> Client::list_payments(const std::string& company_id,
                                      const std::optional<std::string>& updated_after_iso,
                                      const std::optional<std::string>& after, int first) {
  Query q{{"company_id", company_id}};
  if (updated_after_iso) q.emplace_back("updated_after", *updated_after_iso);
  q.emplace_back("first", std::to_string(first));
  if (after) q.emplace_back("after", *after);
  return Impl::to_page("list_payments",
                       impl_->execute(impl_->get("list_payments", "/payments", q)));
}

ApiResult<json> Client::add_free_days(const std::string& membership_id, int days) {
  return impl_->execute(impl_->post(
      "add_free_days", "/memberships/" + percent_encode(membership_id) + "/add_free_days",
      json{{"free_days", days}}));
}

ApiResult<json> Client::cancel_membership(const std::string& membership_id, CancelMode mode) {
  const char* m = mode == CancelMode::Immediate ? "immediate" : "at_period_end";
  return impl_->execute(impl_->post("cancel_membership",
                                    "/memberships/" + percent_encode(membership_id) + "/cancel",
                                    json{{"cancellation_mode", m}}));
}

ApiResult<json> Client::uncancel_membership(const std::string& membership_id) {
  return impl_->execute(impl_->post("uncancel_membership",
                                    "/memberships/" + percent_encode(membership_id) + "/uncancel"));
}

ApiResult<json> Client::retry_payment(const std::string& payment_id) {
  return impl_->execute(
      impl_->post("retry_payment", "/payments/" + percent_encode(payment_id) + "/retry"));
}

ApiResult<json> Client::send_push(const std::string& experience_id,
                                  const std::vector<std::string>& user_ids,
                                  const std::string& title, const std::string& content,
                                  const std::optional<std::string>& rest_path) {
  json body{{"experience_id", experience_id},
            {"user_ids", user_ids},
            {"title", title},
            {"content", content}};
  if (rest_path) body["rest_path"] = *rest_path;
  auto r = impl_->execute(impl_->post("send_push", "/notifications", std::move(body)));
  if (!r) return r;
  const json& j = *r;
  if (j.is_object() && j.contains("success") && j["success"].is_boolean() &&
      j["success"].get<bool>())
    return r;
  ApiError e;
  e.operation = "send_push";
  e.status = 200;
  e.code = "not_sent";
  e.attempts = 1;
  e.message = "Whop did not confirm the push notification (no \"success\": true in its answer).";
  return e;
}

ApiResult<std::string> Client::open_dm_channel(const std::string& user_id,
                                               const std::string& company_id) {
  json body{{"with_user_ids", json::array({user_id})}, {"company_id", company_id}};
  return Impl::string_field("open_dm_channel",
                            impl_->execute(impl_->post("open_dm_channel", "/dm_channels", body)),
                            "id");
}

ApiResult<std::string> Client::send_dm(const std::string& channel_id, const std::string& content) {
  json body{{"channel_id", channel_id}, {"content", content}};
  return Impl::string_field("send_dm", impl_->execute(impl_->post("send_dm", "/messages", body)),
                            "id");
}

ApiResult<std::string> Client::check_connection(const std::string& company_id) {
  auto r = list_memberships(company_id, {}, std::nullopt, 1);
  if (!r) return r.error();
  return "Connected to Whop at " + impl_->scheme_host +
         ": the API key can read the memberships of " + company_id + ".";
}

std::map<std::pair<std::string, std::string>, uint64_t> Client::calls() const {
  std::lock_guard lk(impl_->mu);
  return impl_->counts;
}

std::map<std::string, BreakerInfo> Client::breakers() const {
  std::lock_guard lk(impl_->mu);
  const int64_t now = impl_->clock.now_ms();
  std::map<std::string, BreakerInfo> out;
  for (const auto& [op, st] : impl_->ops) {
    BreakerInfo b;
    // An open breaker whose time is up is half-open: the next call is the trial.
    b.state = (st.breaker == Breaker::Open && now >= st.open_until) ? "half_open"
                                                                    : breaker_name(st.breaker);
    b.consecutive_failures = st.failures;
    b.open_until_ms = st.breaker == Breaker::Open ? st.open_until : 0;
    out[op] = b;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------

ApiResult<int> for_each_page(
    const std::function<ApiResult<Page>(const std::optional<std::string>& after)>& fetch,
    const std::function<bool(const Page&)>& on_page, int max_pages) {
  std::optional<std::string> after;
  int pages = 0;
  while (pages < max_pages) {
    auto r = fetch(after);
    if (!r) return r.error();
    ++pages;
    if (!on_page(*r)) break;
    if (!r->has_next_page) break;
    if (!r->end_cursor || (after && *after == *r->end_cursor)) {
      ApiError e;
      e.operation = "pagination";
      e.status = 200;
      e.code = "unexpected_response";
      e.message = "Whop said there is a next page but gave no new cursor.";
      return e;
    }
    after = r->end_cursor;
  }
  return pages;
}

std::optional<int64_t> parse_retry_after_ms(const std::string& value, int64_t now_ms) {
  std::string v = value;
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  size_t start = 0;
  while (start < v.size() && std::isspace(static_cast<unsigned char>(v[start]))) ++start;
  v = v.substr(start);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (v.size() > 9) return kMaxRetryAfterMs;
    return std::min<int64_t>(std::stoll(v) * kSecondMs, kMaxRetryAfterMs);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  char wday[4] = {}, mon[4] = {}, zone[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  if (std::sscanf(v.c_str(), "%3s, %d %3s %d %d:%d:%d %3s", wday, &day, mon, &year, &hh, &mm, &ss,
                  zone) != 8)
    return std::nullopt;
  if (std::string(zone) != "GMT") return std::nullopt;
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int month = 0;
  for (int i = 0; i < 12; ++i)
    if (std::string(mon) == kMonths[i]) month = i + 1;
  if (month == 0) return std::nullopt;
  char iso[40];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day, hh, mm, ss);
  auto t = domain::parse_iso8601_ms(iso);
  if (!t) return std::nullopt;
  return std::clamp<int64_t>(*t - now_ms, 0, kMaxRetryAfterMs);
}

}  // namespace cs::whop
