#include "http/route_table.h"

#include <regex>
#include <stdexcept>
#include <string_view>

#include "whop/signature.h"

namespace cs::http {
namespace {

constexpr const char* kCase = R"(/cases/([0-9a-f]{1,64}))";
constexpr const char* kCaseExample = "/cases/0123456789abcdef0123456789abcdef";
constexpr const char* kSetup = R"(/setup/([0-9a-f]{1,64}))";
constexpr const char* kSetupExample = "/setup/00000000000000000000000000000000";

using A = Access;
using R = RateClass;
constexpr size_t kForm = kFormBodyLimit;
constexpr size_t kWebhook = whop::kMaxWebhookBody;
// Up to four arms of nine pieces of copy (each up to 2000 characters, URL-encoded).
constexpr size_t kExperimentForm = 512 * 1024;

const std::vector<RouteDef> kRoutes = {
    // Operations and Whop.
    {"GET", "/healthz", "/healthz", A::Public, 0, R::None},
    {"GET", "/readyz", "/readyz", A::Public, 0, R::None},
    {"GET", "/api/health", "/api/health", A::Public, 0, R::None},
    {"GET", "/api/health/db", "/api/health/db", A::Public, 0, R::None},
    {"GET", "/api/health/webhooks", "/api/health/webhooks", A::Public, 0, R::None},
    {"GET", "/metrics", "/metrics", A::MetricsToken, 0, R::None},
    {"POST", "/webhooks/whop", "/webhooks/whop", A::Webhook, kWebhook, R::None},
    {"GET", R"(/r/([0-9a-f]{1,64}))", "/r/00000000000000000000000000000000", A::Public, 0, R::None},
    // Static assets and sign-in.
    {"GET", R"(/static/([a-z0-9_-]{1,64}\.(css|js|svg)))", "/static/app.css", A::Public, 0,
     R::None},
    {"GET", "/favicon.ico", "/favicon.ico", A::Public, 0, R::None},
    {"GET", "/login", "/login", A::Public, 0, R::None},
    {"POST", "/login", "/login", A::Public, kForm, R::Login},
    {"POST", "/logout", "/logout", A::Form, kForm, R::None},
    {"GET", kSetup, kSetupExample, A::Public, 0, R::None},
    {"POST", kSetup, kSetupExample, A::Public, kForm, R::Login},
    // Dashboard pages and forms.
    {"GET", "/", "/", A::Page, 0, R::None},
    {"GET", "/cases/export.csv", "/cases/export.csv", A::Page, 0, R::Export},
    {"GET", "/cases", "/cases", A::Page, 0, R::None},
    {"GET", kCase, kCaseExample, A::Page, 0, R::None},
    {"POST", R"(/cases/([0-9a-f]{1,64})/actions/(nudge|cancel|cancel-at-period-end|terminate))",
     "/cases/0123456789abcdef0123456789abcdef/actions/nudge", A::Form, kForm, R::CaseAction},
    {"GET", "/settings", "/settings", A::Page, 0, R::None},
    {"POST", "/settings/recovery", "/settings/recovery", A::Form, kForm, R::Settings},
    {"POST", "/settings/connection", "/settings/connection", A::Form, kForm, R::Settings},
    {"POST", "/settings/check", "/settings/check", A::Form, kForm, R::Settings},
    {"POST", "/settings/test-webhook", "/settings/test-webhook", A::Form, kForm, R::Settings},
    {"POST", "/settings/time-zone", "/settings/time-zone", A::Form, kForm, R::Settings},
    {"GET", "/messages", "/messages", A::Page, 0, R::None},
    {"POST", "/messages", "/messages", A::Form, kForm, R::Settings},
    {"GET", "/experiments", "/experiments", A::Page, 0, R::None},
    {"POST", "/experiments", "/experiments", A::Form, kExperimentForm, R::Settings},
    {"GET", R"(/experiments/(\d{1,18}))", "/experiments/1", A::Page, 0, R::None},
    {"GET", R"(/experiments/(\d{1,18})/results\.csv)", "/experiments/1/results.csv", A::Page, 0,
     R::Export},
    {"POST", R"(/experiments/(\d{1,18})/actions/(start|pause|stop|promote))",
     "/experiments/1/actions/start", A::Form, kForm, R::Settings},
    {"GET", "/events", "/events", A::Page, 0, R::None},
    {"GET", R"(/events/(\d{1,18}))", "/events/1", A::Page, 0, R::None},
    {"POST", R"(/events/(\d{1,18})/replay)", "/events/1/replay", A::Form, kForm, R::CaseAction},
    {"GET", "/jobs", "/jobs", A::Page, 0, R::None},
    {"POST", R"(/jobs/(\d{1,18})/retry)", "/jobs/1/retry", A::Form, kForm, R::CaseAction},
    // JSON API.
    {"GET", "/api/dashboard/kpis", "/api/dashboard/kpis?window=30", A::Api, 0, R::Api},
    {"GET", "/api/dashboard/cases", "/api/dashboard/cases?status=open", A::Api, 0, R::Api},
};

/// A route's pattern, ready to match: the literal text before its first regex character (all of
/// it for a literal route, compared with ==), and the compiled regex for the rest. Every request
/// is matched against the table (the session gate), so a path is first told apart by its prefix:
/// "/webhooks/whop" no longer runs some 30 regexes.
struct Matcher {
  std::string prefix;
  bool literal = false;
  std::regex re;
  bool matches(const std::string& path) const {
    if (literal) return path == prefix;
    return path.compare(0, prefix.size(), prefix) == 0 && std::regex_match(path, re);
  }
};

/// The text every match of `pattern` starts with; `literal` when that is the whole pattern.
std::string literal_prefix(std::string_view pattern, bool& literal) {
  literal = false;
  int depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      return "";  // an alternative may start anywhere
    }
  }
  size_t special = pattern.find_first_of(R"(\^$.|?*+()[]{})");
  if (special == std::string_view::npos) {
    literal = true;
    return std::string(pattern);
  }
  std::string prefix(pattern.substr(0, special));
  // A quantifier applies to the character before it, which may then be absent.
  if (std::string_view("?*+{").find(pattern[special]) != std::string_view::npos &&
      !prefix.empty()) {
    prefix.pop_back();
  }
  return prefix;
}

const std::vector<Matcher>& compiled() {
  static const std::vector<Matcher> matchers = [] {
    std::vector<Matcher> v;
    for (const auto& r : kRoutes) {
      Matcher m;
      m.prefix = literal_prefix(r.pattern, m.literal);
      if (!m.literal) m.re = std::regex(r.pattern);
      v.push_back(std::move(m));
    }
    return v;
  }();
  return matchers;
}

}  // namespace

RateRule rate_rule(RateClass c) {
  switch (c) {
    case RateClass::None:
      return {"", 0, 0};
    case RateClass::Login:
      return {"login", 30, 60 * 1000};
    case RateClass::Settings:
      return {"settings", 30, 60 * 1000};
    case RateClass::CaseAction:
      return {"case_action", 30, 60 * 1000};
    case RateClass::Api:
      return {"api", 120, 60 * 1000};
    case RateClass::Export:
      return {"export", 10, 60 * 1000};
  }
  return {"", 0, 0};
}

const std::vector<RouteDef>& route_table() {
  return kRoutes;
}

const RouteDef* find_route(const std::string& method, const std::string& path) {
  const auto& m = compiled();
  for (size_t i = 0; i < kRoutes.size(); ++i) {
    if (method == kRoutes[i].method && m[i].matches(path)) return &kRoutes[i];
  }
  return nullptr;
}

bool path_needs_session(const std::string& path) {
  const auto& m = compiled();
  for (size_t i = 0; i < kRoutes.size(); ++i) {
    if (needs_session(kRoutes[i].access) && m[i].matches(path)) return true;
  }
  return false;
}

size_t body_limit_for(const std::string& method, const std::string& path) {
  if (const RouteDef* r = find_route(method, path)) return r->body_limit;
  if (method == "POST" || method == "PUT" || method == "PATCH") return kFormBodyLimit;
  return 0;
}

bool needs_session(Access a) {
  switch (a) {
    case Access::Page:
    case Access::Form:
    case Access::Api:
      return true;
    case Access::Public:
    case Access::Webhook:
    case Access::MetricsToken:
      return false;
  }
  return true;
}

const char* access_name(Access a) {
  switch (a) {
    case Access::Public:
      return "public";
    case Access::Page:
      return "page";
    case Access::Form:
      return "form";
    case Access::Api:
      return "api";
    case Access::Webhook:
      return "webhook";
    case Access::MetricsToken:
      return "metrics";
  }
  return "?";
}

const RouteDef& install(httplib::Server& svr, const std::string& method, const std::string& pattern,
                        httplib::Server::Handler h) {
  for (const auto& r : kRoutes) {
    if (method != r.method || pattern != r.pattern) continue;
    if (method == "GET") {
      svr.Get(pattern, std::move(h));
    } else if (method == "POST") {
      svr.Post(pattern, std::move(h));
    } else {
      break;
    }
    return r;
  }
  throw std::logic_error("route " + method + " " + pattern + " is not in the route table");
}

}  // namespace cs::http
