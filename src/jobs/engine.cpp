#include "jobs/engine.h"

#include <nlohmann/json.hpp>

#include "domain/money.h"
#include "domain/time.h"
#include "store/cases.h"
#include "store/engine.h"
#include "store/events.h"
#include "store/jobs.h"
#include "util/json_limits.h"
#include "util/log.h"

namespace cs::jobs {
namespace {

constexpr int64_t kDayMs = 86400000;

nlohmann::json parse_payload(const store::Job& job) {
  auto j = nlohmann::json::parse(job.payload, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

std::string str(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::optional<int64_t> renewal_end(const nlohmann::json& membership) {
  if (!membership.contains("renewal_period_end")) return std::nullopt;
  const auto& v = membership["renewal_period_end"];
  if (v.is_string()) return domain::parse_iso8601_ms(v.get<std::string>());
  if (v.is_number_integer()) return v.get<int64_t>() * 1000;
  return std::nullopt;
}

nlohmann::json error_meta(const whop::ApiError& e) {
  nlohmann::json m = {{"status", e.status}, {"code", e.code}, {"attempts", e.attempts}};
  if (e.outcome_unknown) m["outcome_unknown"] = true;
  if (e.breaker_open) m["breaker_open"] = true;
  return m;
}

std::optional<int> attempt_number(const std::string& attempt) {
  if (attempt.empty() || attempt[0] == 'm') return std::nullopt;
  try {
    return std::stoi(attempt);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

JobOutcome outcome_of(const whop::ApiError& e) {
  // Refused locally (breaker open, local rate limit): nothing was sent, the attempt is not spent.
  if (e.breaker_open || e.code == "rate_limited_locally") {
    return JobOutcome::defer(e.message, e.retry_after_ms.value_or(30000));
  }
  if (e.retryable || e.outcome_unknown) return JobOutcome::failure(e.message, e.retry_after_ms);
  return JobOutcome::fatal(e.message);
}

RecoveryEngine::RecoveryEngine(store::Writer& writer, store::ReadPool& reads, whop::Client& whop,
                               const crypto::Keyring& keys, const Clock& clock, EngineConfig config,
                               SettingsFn settings)
    : writer_(writer),
      reads_(reads),
      whop_(whop),
      keys_(keys),
      clock_(clock),
      config_(std::move(config)),
      settings_(std::move(settings)) {}

void RecoveryEngine::install(JobRunner& runner) {
  runner.on<NudgeJob>([this](const store::Job& j, const NudgeJob&) { return run_nudge(j); });
  runner.on<IncentiveJob>(
      [this](const store::Job& j, const IncentiveJob&) { return run_incentive(j); });
  runner.on<WhopCancelJob>(
      [this](const store::Job& j, const WhopCancelJob&) { return run_whop_cancel(j); });
}

void RecoveryEngine::audit(const std::string& case_id, const std::string& type,
                           const std::string& channel, std::optional<int> attempt,
                           const std::string& actor, const std::string& outcome,
                           const nlohmann::json& meta) {
  int64_t now = clock_.now_ms();
  auto st = writer_.run([&](SQLite::Database& db) {
    store::record_action(db, {case_id, now, type, channel, attempt, actor, outcome, meta.dump()});
  });
  if (!st) log::error("could not write audit row", {{"type", type}, {"error", st.error()}});
}

whop::ApiResult<std::string> RecoveryEngine::manage_link(const std::string& case_id,
                                                         const std::string& membership_id) {
  std::string manage_url;
  {
    auto db = reads_.lease();
    manage_url = store::get_manage_url(*db, case_id);
  }
  if (manage_url.empty()) {
    auto m = whop_.get_membership(membership_id);
    if (!m) return m.error();
    manage_url = str(*m, "manage_url");
    if (manage_url.empty()) {
      whop::ApiError e;
      e.operation = "get_membership";
      e.message = "Whop's membership has no manage_url";
      return e;
    }
  }
  std::string token;
  auto st = writer_.run([&](SQLite::Database& db) {
    token = store::ensure_link(db, case_id, manage_url, crypto::random_hex(16));
  });
  if (!st) {
    whop::ApiError e;
    e.message = "could not store the tracked link: " + st.error();
    e.retryable = true;
    return e;
  }
  if (config().public_url.empty()) return manage_url;  // no public URL: untracked link
  std::string base = config().public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/r/" + token;
}

JobOutcome RecoveryEngine::run_nudge(const store::Job& job) {
  auto p = parse_payload(job);
  const std::string case_id = str(p, "case_id"), attempt = str(p, "attempt"),
                    channel = str(p, "channel");
  const std::string actor = str(p, "actor").empty() ? "system" : str(p, "actor");
  if (case_id.empty() || attempt.empty() || (channel != "push" && channel != "dm")) {
    return JobOutcome::fatal("malformed nudge job");
  }
  auto settings = settings_();
  int64_t now = clock_.now_ms();
  std::optional<store::CaseRow> c;
  bool proceed = false;
  std::string skip_reason;
  auto st = writer_.run([&](SQLite::Database& db) {
    c = store::find_case(db, case_id);
    if (!c) return;
    if (c->status != "open") {
      skip_reason = "case_" + c->status;
    } else if (!settings.notifications_enabled) {
      skip_reason = "notifications_disabled";
    } else if (channel == "push" && config().experience_id.empty()) {
      skip_reason = "no_experience_id";
    } else if (channel == "dm" && config().company_id.empty()) {
      skip_reason = "no_company_id";
    }
    std::string prior = store::begin_send(db, case_id, attempt, channel, actor, now);
    if (!skip_reason.empty()) {
      if (prior.empty() || prior == "failed") {
        store::finish_send(db, case_id, attempt, channel, "skipped", now);
        store::record_action(
            db, {case_id, now, "nudge_skipped", channel, attempt_number(attempt), actor, "skipped",
                 nlohmann::json{{"reason", skip_reason}}.dump()});
      }
      return;
    }
    if (prior.empty()) {
      proceed = true;
    } else if (prior == "failed") {
      // An earlier try failed for certain (Whop answered an error): nothing was sent.
      store::finish_send(db, case_id, attempt, channel, "sending", now);
      proceed = true;
    } else if (prior == "sending") {
      // An earlier try died mid-call: it may have been sent. Never send twice.
      store::finish_send(db, case_id, attempt, channel, "unknown", now);
      store::record_action(
          db, {case_id, now, "nudge_unknown", channel, attempt_number(attempt), actor, "unknown",
               nlohmann::json{{"reason", "interrupted before the outcome was known"}}.dump()});
    }
  });
  if (!st) return JobOutcome::failure(st.error());
  if (!c) return JobOutcome::fatal("case not found");
  if (!proceed) return JobOutcome::success();

  auto finish = [&](const std::string& state, const std::string& type, const std::string& outcome,
                    const nlohmann::json& meta) {
    int64_t t = clock_.now_ms();
    return writer_.run([&](SQLite::Database& db) {
      store::finish_send(db, case_id, attempt, channel, state, t);
      store::record_action(
          db, {case_id, t, type, channel, attempt_number(attempt), actor, outcome, meta.dump()});
    });
  };

  auto link = manage_link(case_id, c->membership_id);
  if (!link) {
    finish("failed", "nudge_failed", "failed", error_meta(link.error()));
    return outcome_of(link.error());
  }

  // The member's first name is read from the sealed payload just for this message.
  std::string name;
  {
    auto db = reads_.lease();
    if (auto ev = store::latest_event_with_payload(*db, c->membership_id)) {
      auto body =
          store::open_event_payload(keys_, store::event_payload(*db, ev->id), ev->webhook_id);
      if (body) {
        auto j = parse_json_limited(*body);
        if (j) {
          if (auto mapped = domain::map_whop_event(*j)) name = mapped->display_name;
        }
      }
    }
  }
  if (name.empty()) name = c->username.empty() ? "there" : c->username;
  auto space = name.find(' ');
  if (space != std::string::npos) name = name.substr(0, space);
  std::map<std::string, std::string> vars = {
      {"name", name},
      {"amount", domain::format_money(c->amount_due_cents, c->currency)},
      {"product", c->product_title.empty() ? "your membership" : c->product_title},
      {"manage_url", *link}};
  const auto& t = settings.templates;

  std::optional<whop::ApiError> err;
  if (channel == "push") {
    auto r = whop_.send_push(config().experience_id, {c->user_id},
                             domain::render_template(t.push_title, vars),
                             domain::render_template(t.push_content, vars));
    if (!r) err = r.error();
  } else {
    std::string dm_channel;
    {
      auto db = reads_.lease();
      dm_channel = store::get_dm_channel(*db, case_id);
    }
    if (dm_channel.empty()) {
      auto ch = whop_.open_dm_channel(c->user_id, config().company_id);
      if (!ch) {
        // Opening a channel sends nothing: a failure here is a certain non-send.
        auto e = ch.error();
        e.outcome_unknown = false;
        finish("failed", "nudge_failed", "failed", error_meta(e));
        return outcome_of(e);
      }
      dm_channel = *ch;
      writer_.run([&](SQLite::Database& db) { store::set_dm_channel(db, case_id, dm_channel); });
    }
    auto r = whop_.send_dm(dm_channel, domain::render_template(t.dm_content, vars));
    if (!r) err = r.error();
  }

  if (!err) {
    finish("sent", "nudge_sent", "sent", nlohmann::json::object());
    return JobOutcome::success();
  }
  if (err->outcome_unknown) {
    // The request may have been delivered (no answer, or a 5xx that a proxy may have sent after
    // Whop acted). Never send the same nudge twice: record it as unknown and stop.
    finish("unknown", "nudge_unknown", "unknown", error_meta(*err));
    return JobOutcome::success();
  }
  finish("failed", "nudge_failed", "failed", error_meta(*err));
  return outcome_of(*err);
}

JobOutcome RecoveryEngine::run_incentive(const store::Job& job) {
  auto p = parse_payload(job);
  const std::string case_id = str(p, "case_id");
  if (case_id.empty()) return JobOutcome::fatal("malformed incentive job");
  int64_t now = clock_.now_ms();
  std::optional<store::CaseRow> c;
  std::optional<store::IncentiveState> inc;
  bool done = false;
  auto st = writer_.run([&](SQLite::Database& db) {
    c = store::find_case(db, case_id);
    inc = store::get_incentive(db, case_id);
    if (!c || !inc) {
      done = true;
      return;
    }
    if (inc->state == "granted" || inc->state == "off" || inc->state == "failed") {
      done = true;
    } else if (c->status != "open" && inc->state != "granting") {
      inc->state = "off";
      store::set_incentive(db, case_id, *inc);
      store::record_action(db, {case_id, now, "incentive_skipped", "", std::nullopt, "system",
                                "skipped", nlohmann::json{{"reason", "case_" + c->status}}.dump()});
      done = true;
    }
  });
  if (!st) return JobOutcome::failure(st.error());
  if (done) return JobOutcome::success();

  auto set_state = [&](const std::string& state, const std::string& type,
                       const std::string& outcome, const nlohmann::json& meta) {
    int64_t t = clock_.now_ms();
    inc->state = state;
    return writer_.run([&](SQLite::Database& db) {
      store::set_incentive(db, case_id, *inc);
      store::record_action(db,
                           {case_id, t, type, "", std::nullopt, "system", outcome, meta.dump()});
    });
  };

  // Read the membership first: the baseline to verify against, or the read-back after an
  // earlier try whose outcome is unknown.
  auto m = whop_.get_membership(c->membership_id);
  if (!m) {
    if (!m.error().retryable) {
      set_state("failed", "incentive_failed", "failed", error_meta(m.error()));
      return JobOutcome::fatal(m.error().message);
    }
    return outcome_of(m.error());
  }
  auto end = renewal_end(*m);
  if (inc->state == "granting") {
    if (!inc->baseline || !end) {
      // Cannot tell whether the earlier grant took effect: never risk granting twice.
      set_state("failed", "incentive_failed", "unverifiable",
                {{"reason", "renewal_period_end unknown; not retried to avoid a double grant"}});
      return JobOutcome::success();
    }
    if (*end >= *inc->baseline + static_cast<int64_t>(inc->days) * kDayMs) {
      set_state("granted", "incentive_granted", "granted",
                {{"days", inc->days}, {"confirmed", "read_back"}});
      return JobOutcome::success();
    }
  } else {
    inc->baseline = end;
    auto s2 = set_state("granting", "incentive_intent", "intent", {{"days", inc->days}});
    if (!s2) return JobOutcome::failure(s2.error());
  }

  auto r = whop_.add_free_days(c->membership_id, inc->days);
  if (r) {
    set_state("granted", "incentive_granted", "granted", {{"days", inc->days}});
    return JobOutcome::success();
  }
  const auto& e = r.error();
  if (!e.retryable && !e.outcome_unknown) {
    set_state("failed", "incentive_failed", "failed", error_meta(e));
    return JobOutcome::fatal(e.message);
  }
  // Keep "granting": the next try reads the membership back before deciding.
  audit(case_id, "incentive_failed", "", std::nullopt, "system",
        e.outcome_unknown ? "unknown" : "retry", error_meta(e));
  return JobOutcome::failure(e.message, e.retry_after_ms);
}

JobOutcome RecoveryEngine::run_whop_cancel(const store::Job& job) {
  auto p = parse_payload(job);
  const std::string case_id = str(p, "case_id"), membership_id = str(p, "membership_id"),
                    mode = str(p, "mode");
  if (membership_id.empty() || (mode != "at_period_end" && mode != "immediate")) {
    return JobOutcome::fatal("malformed whop_cancel job");
  }
  auto r =
      whop_.cancel_membership(membership_id, mode == "immediate" ? whop::CancelMode::Immediate
                                                                 : whop::CancelMode::AtPeriodEnd);
  if (r) {
    audit(case_id, "membership_cancelled", "", std::nullopt, "admin", "ok", {{"mode", mode}});
    return JobOutcome::success();
  }
  auto meta = error_meta(r.error());
  meta["mode"] = mode;
  audit(case_id, "membership_cancel_failed", "", std::nullopt, "admin", "failed", meta);
  return outcome_of(r.error());
}

void RecoveryEngine::set_config(EngineConfig config) {
  std::lock_guard<std::mutex> lock(config_mu_);
  config_ = std::move(config);
}

EngineConfig RecoveryEngine::config() const {
  std::lock_guard<std::mutex> lock(config_mu_);
  return config_;
}

Status RecoveryEngine::nudge_now(const std::string& case_id) {
  auto settings = settings_();
  int64_t now = clock_.now_ms();
  std::string problem;
  auto st = writer_.run([&](SQLite::Database& db) {
    auto c = store::find_case(db, case_id);
    if (!c) {
      problem = "No such case.";
      return;
    }
    if (c->status != "open") {
      problem = "This case is " + c->status + "; only open cases can be nudged.";
      return;
    }
    std::vector<std::string> channels;
    if (settings.push_enabled) channels.push_back("push");
    if (settings.dm_enabled) channels.push_back("dm");
    if (channels.empty()) {
      problem = "No channel is switched on in settings.";
      return;
    }
    std::string attempt = "m" + std::to_string(store::count_manual_sends(db, case_id) + 1);
    for (const auto& ch : channels) {
      auto j = make_job(NudgeJob{case_id, attempt, ch, "admin"}, now,
                        "nudge:" + case_id + ":" + attempt + ":" + ch, 8);
      store::enqueue_job(db, j, now);
      // Reserve the attempt name so the next manual nudge gets a new one.
      store::begin_send(db, case_id, attempt, ch, "admin", now);
      store::finish_send(db, case_id, attempt, ch, "failed", now);
    }
    store::record_action(db, {case_id, now, "nudge_requested", "", std::nullopt, "admin", "queued",
                              nlohmann::json{{"attempt", attempt}}.dump()});
  });
  if (!st) return Error{st.error()};
  if (!problem.empty()) return Error{problem};
  return Ok{};
}

Status RecoveryEngine::cancel_case(const std::string& case_id) {
  int64_t now = clock_.now_ms();
  bool cancelled = false;
  auto st = writer_.run([&](SQLite::Database& db) {
    cancelled = store::cancel_case(db, case_id, now);
    if (cancelled) {
      store::record_action(
          db, {case_id, now, "case_cancelled", "", std::nullopt, "admin", "cancelled", "{}"});
    }
  });
  if (!st) return Error{st.error()};
  if (!cancelled) return Error{"Only open cases can be cancelled."};
  return Ok{};
}

Status RecoveryEngine::cancel_at_period_end(const std::string& case_id) {
  return enqueue_cancel(case_id, "at_period_end");
}

Status RecoveryEngine::terminate_now(const std::string& case_id) {
  return enqueue_cancel(case_id, "immediate");
}

Status RecoveryEngine::enqueue_cancel(const std::string& case_id, const std::string& mode) {
  int64_t now = clock_.now_ms();
  std::string problem;
  auto st = writer_.run([&](SQLite::Database& db) {
    auto c = store::find_case(db, case_id);
    if (!c) {
      problem = "No such case.";
      return;
    }
    auto j = make_job(WhopCancelJob{case_id, c->membership_id, mode}, now,
                      "cancel:" + case_id + ":" + mode, 8);
    if (!store::enqueue_job(db, j, now)) {
      problem = "This was already requested for this case.";
      return;
    }
    store::record_action(db, {case_id, now, "membership_cancel_requested", "", std::nullopt,
                              "admin", "queued", nlohmann::json{{"mode", mode}}.dump()});
  });
  if (!st) return Error{st.error()};
  if (!problem.empty()) return Error{problem};
  return Ok{};
}

std::optional<std::string> RecoveryEngine::follow_link(const std::string& token) {
  if (token.size() != 32 || token.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return std::nullopt;
  }
  int64_t now = clock_.now_ms();
  std::optional<store::LinkTarget> target;
  auto st = writer_.run([&](SQLite::Database& db) {
    target = store::find_link(db, token);
    if (target && !target->manage_url.empty()) {
      store::record_click(db, target->case_id, now);
      store::record_action(
          db, {target->case_id, now, "link_clicked", "", std::nullopt, "system", "clicked", "{}"});
    }
  });
  if (!st || !target || target->manage_url.empty()) return std::nullopt;
  return target->manage_url;
}

}  // namespace cs::jobs
