// The Whop REST client (see client.h and shared/WHOP.md §3).
#include "whop/client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "util/log.h"
#include "whop/answer.h"
#include "whop/rate_limiter.h"
#include "whop/transport.h"

namespace cs::whop {

using nlohmann::json;

namespace {

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

// The limit and the breaker of one operation.
struct OpState {
  SlidingWindowLimit limit;
  CircuitBreaker breaker;
};

struct Request {
  std::string op;
  std::string method;  // "GET" | "POST"
  std::string path;    // below the API base, e.g. "/memberships/mem_x"
  std::string query;   // encoded, without '?'
  std::optional<json> body;
};

}  // namespace

struct Client::Impl {
  ClientConfig cfg;
  const Clock& clock;
  Sleep sleep;
  Random random01;
  RetryPolicy retry;
  Transport transport;

  mutable std::mutex key_mu;  // guards cfg.api_key (set_api_key)
  mutable std::mutex mu;      // guards ops, counts, rng
  std::map<std::string, OpState> ops;
  std::map<std::pair<std::string, std::string>, uint64_t> counts;
  std::mt19937_64 rng{std::random_device{}()};

  static ClientConfig sane(ClientConfig c) {
    c.max_retries = std::max(0, c.max_retries);
    c.rate_limit_per_minute = std::max(1, c.rate_limit_per_minute);
    c.breaker_failures = std::max(1, c.breaker_failures);
    return c;
  }

  Impl(ClientConfig c, const Clock& clk, Sleep s, Random r)
      : cfg(sane(std::move(c))),
        clock(clk),
        sleep(std::move(s)),
        random01(std::move(r)),
        retry{cfg.max_retries, cfg.backoff_base_ms, cfg.backoff_cap_ms, cfg.max_wait_ms,
              cfg.call_wait_budget_ms},
        transport(
            parse_api_base(cfg.api_base),
            TransportConfig{cfg.connect_timeout_ms, cfg.read_timeout_ms, cfg.max_idle_connections,
                            cfg.idle_connection_ms, cfg.ca_cert_file},
            clk) {
    if (!sleep) {
      sleep = [](int64_t ms) {
        if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      };
    }
  }

  std::string api_key() const {
    std::lock_guard<std::mutex> lock(key_mu);
    return cfg.api_key;
  }

  const std::string& host() const { return transport.endpoint().scheme_host; }

  double jitter() {
    if (random01) return random01();
    std::lock_guard lk(mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  void count(const std::string& op, const std::string& outcome) {
    std::lock_guard lk(mu);
    ++counts[{op, outcome}];
  }

  // Under mu.
  OpState& op_state(const std::string& op) {
    auto it = ops.find(op);
    if (it == ops.end())
      it = ops.emplace(op, OpState{SlidingWindowLimit(cfg.rate_limit_per_minute),
                                   CircuitBreaker(op, cfg.breaker_failures, cfg.breaker_open_ms)})
               .first;
    return it->second;
  }

  // nullopt: go ahead (`trial` says whether this is the half-open trial); else the refusal.
  std::optional<ApiError> admit(const std::string& op, bool& trial) {
    CircuitBreaker::Admission a;
    {
      std::lock_guard lk(mu);
      a = op_state(op).breaker.admit(clock.now_ms());
    }
    trial = a.trial;
    if (a.allowed) return std::nullopt;
    ApiError e;
    e.operation = op;
    e.code = "breaker_open";
    e.retryable = true;
    e.breaker_open = true;
    if (a.state == BreakerState::Open) {
      e.retry_after_ms = a.open_for_ms;
      e.message = "Calls to Whop for " + op + " are paused for " + seconds_text(a.open_for_ms) +
                  " after " + std::to_string(a.failures) +
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

  void release_trial(const std::string& op) {
    std::lock_guard lk(mu);
    op_state(op).breaker.release_trial();
  }

  std::optional<int64_t> record(const std::string& op, bool failure, bool trial) {
    std::lock_guard lk(mu);
    return op_state(op).breaker.record(failure, trial, clock.now_ms());
  }

  int64_t rate_acquire(const std::string& op) {
    std::lock_guard lk(mu);
    return op_state(op).limit.acquire(clock.now_ms());
  }

  // --- One HTTP attempt -----------------------------------------------------------------------

  Attempt send(const Request& rq) {
    const bool is_post = rq.method != "GET";
    std::string target = transport.endpoint().prefix + rq.path;
    if (!rq.query.empty()) target += "?" + rq.query;
    Exchange x =
        transport.send(rq.method, target, is_post && rq.body ? rq.body->dump() : "{}", api_key());
    if (x.answer) return interpret_answer(rq.op, is_post, *x.answer, clock.now_ms());
    return interpret_no_answer(rq.op, is_post, x.why, x.detail, host(), cfg.read_timeout_ms);
  }

  // --- A call: admission, limit, attempts, retries ----------------------------------------------

  ApiResult<json> execute(const Request& rq) {
    const bool is_post = rq.method != "GET";
    if (api_key().empty()) {
      count(rq.op, "not_configured");
      ApiError e;
      e.operation = rq.op;
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
        if (!wait_fits(retry, w, waited)) {
          if (trial) release_trial(rq.op);
          count(rq.op, "throttled");
          ApiError e;
          e.operation = rq.op;
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
      const RetryDecision d =
          decide_retry(retry, e, is_post, open_for.has_value(), attempts, waited, jitter());
      json fields{{"op", rq.op},
                  {"status", e.status},
                  {"code", e.code},
                  {"attempt", attempts},
                  {"outcome", a.metric}};
      if (!d.retry) {
        if (d.too_long) e.retry_after_ms = d.delay_ms;
        if (e.outcome_unknown) fields["outcome_unknown"] = true;
        (e.retryable ? log::warn : log::info)("whop call failed", fields);
        return e;
      }
      fields["retry_in_ms"] = d.delay_ms;
      log::info("whop call retrying", fields);
      sleep(d.delay_ms);
      waited += d.delay_ms;
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
  return impl_->host();
}

uint64_t Client::connections_opened() const {
  return impl_->transport.connections_opened();
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
  return "Connected to Whop at " + impl_->host() + ": the API key can read the memberships of " +
         company_id + ".";
}

std::map<std::pair<std::string, std::string>, uint64_t> Client::calls() const {
  std::lock_guard lk(impl_->mu);
  return impl_->counts;
}

std::map<std::string, BreakerInfo> Client::breakers() const {
  std::lock_guard lk(impl_->mu);
  const int64_t now = impl_->clock.now_ms();
  std::map<std::string, BreakerInfo> out;
  for (const auto& [op, st] : impl_->ops) out[op] = st.breaker.info(now);
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

}  // namespace cs::whop
