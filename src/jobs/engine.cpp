#include "jobs/engine.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "domain/money.h"
#include "domain/time.h"
#include "store/cases.h"
#include "store/engine.h"
#include "store/events.h"
#include "store/experiments.h"
#include "store/jobs.h"
#include "util/json_limits.h"
#include "util/log.h"

namespace cs::jobs {
namespace {

constexpr int64_t kDayMs = 86400000;
/// How often a job waiting for a Whop API key looks again (configuring the key wakes it at once).
constexpr int64_t kWaitForKeyMs = 15 * 60 * 1000;

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

/// The outcome of a nudge job from its channels' outcomes (RecoveryEngine::run_nudge).
JobOutcome combine_outcomes(const std::vector<std::pair<std::string, JobOutcome>>& all) {
  if (all.size() == 1) return all.front().second;
  std::string errors;
  bool retry = false;
  std::optional<int64_t> retry_after;
  const JobOutcome* deferred = nullptr;
  for (const auto& [channel, o] : all) {
    if (o.ok) continue;
    errors += (errors.empty() ? "" : "; ") + channel + ": " + o.error;
    if (o.deferred) {
      if (!deferred || o.retry_after_ms < deferred->retry_after_ms) deferred = &o;
    } else if (!o.permanent) {
      retry = true;
      if (o.retry_after_ms) retry_after = std::max(retry_after.value_or(0), *o.retry_after_ms);
    }
  }
  if (errors.empty()) return JobOutcome::success();
  // A channel that may still succeed is retried (the settled channels are not called again).
  if (retry) return JobOutcome::failure(errors, retry_after);
  if (deferred) return *deferred;
  return JobOutcome::fatal(errors);
}

}  // namespace

JobOutcome outcome_of(const whop::ApiError& e) {
  // Refused locally (breaker open, local rate limit): nothing was sent, the attempt is not spent.
  if (e.breaker_open || e.code == "rate_limited_locally") {
    return JobOutcome::defer(e.message, e.retry_after_ms.value_or(30000));
  }
  // Not configured is not dead: the job waits (attempt not spent) until the creator connects
  // Whop, which makes it due at once; the contact check then still applies (a case whose window
  // passed meanwhile is lost, and its nudge is skipped).
  if (e.code == "not_configured") return JobOutcome::defer(store::kWaitingForApiKey, kWaitForKeyMs);
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
    store::save_action(db, {case_id, now, type, channel, attempt, actor, outcome, meta.dump()});
  });
  if (!st) log::error("could not write audit row", {{"type", type}, {"error", st.error()}});
}

whop::ApiResult<std::string> RecoveryEngine::manage_link(const std::string& case_id,
                                                         const std::string& membership_id) {
  std::string manage_url;
  {
    auto db = reads_.lease();
    manage_url = store::find_manage_url(*db, case_id);
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

// One nudge is one row of nudge_sends, keyed (case, attempt, channel). Its send-state machine:
//
//   (no row) --begin--> Sending --Whop accepted--> Sent
//                        |  '--Whop refused for certain--> Failed --job retried--> Sending
//                        '--no answer / interrupted mid-call--> Unknown (final: never resent)
//   no row or Failed --case not open, or notifications/channel not configured--> Skipped
//
// Sent, Unknown and Skipped are final; a job that finds one of them does nothing.
JobOutcome RecoveryEngine::run_nudge(const store::Job& job) {
  auto n = read_payload<NudgeJob>(job.payload);
  if (!n) return JobOutcome::fatal("malformed nudge job: " + n.error());
  const auto settings = settings_();
  std::optional<whop::ApiResult<std::string>> link;
  std::vector<std::pair<std::string, JobOutcome>> outcomes;
  for (const auto& channel : n->channels) {
    outcomes.emplace_back(channel,
                          run_channel({n->case_id, n->attempt, channel, n->actor}, settings, link));
  }
  return combine_outcomes(outcomes);
}

JobOutcome RecoveryEngine::run_channel(const ChannelSend& n,
                                       const domain::RecoverySettings& settings,
                                       std::optional<whop::ApiResult<std::string>>& link) {
  auto start = begin_nudge(n, settings);
  if (!start) return JobOutcome::failure(start.error());
  if (!start->c) return JobOutcome::fatal("case not found");
  if (start->contact.verdict == domain::ContactVerdict::Wait) return wait(start->contact);
  if (!start->proceed) return JobOutcome::success();

  if (!link) link = manage_link(n.case_id, start->c->membership_id);
  if (!*link) return settle_nudge(n, link->error(), true);
  return deliver_nudge(n, *start->c, **link, settings);
}

Result<RecoveryEngine::NudgeStart> RecoveryEngine::begin_nudge(
    const ChannelSend& n, const domain::RecoverySettings& settings) {
  using domain::SendState;
  const int64_t now = clock_.now_ms();
  const auto cfg = config();
  NudgeStart start;
  auto st = writer_.run([&](SQLite::Database& db) {
    start.c = store::find_case(db, n.case_id);
    if (!start.c) return;
    std::string skip_reason;
    if (start.c->status != domain::CaseStatus::Open) {
      skip_reason = std::string("case_") + domain::status_name(start.c->status);
    } else if (!settings.notifications_enabled) {
      skip_reason = "notifications_disabled";
    } else if (n.channel == "push" && cfg.experience_id.empty()) {
      skip_reason = "no_experience_id";
    } else if (n.channel == "dm" && cfg.company_id.empty()) {
      skip_reason = "no_company_id";
    }
    if (skip_reason.empty()) {
      start.contact = domain::may_contact(start.c->status, store::contact_group(db, n.case_id),
                                          start.c->first_failure_at,
                                          store::list_contact_events(db, start.c->membership_id),
                                          now, domain::contact_policy(n.actor != "system"));
      if (start.contact.verdict == domain::ContactVerdict::Wait) return;  // no intent recorded
      if (start.contact.verdict == domain::ContactVerdict::Stop) skip_reason = start.contact.reason;
    }
    const auto prior = store::begin_send(db, n.case_id, n.attempt, n.channel, n.actor, now);
    if (!skip_reason.empty()) {
      if (!prior || *prior == SendState::Failed) {
        record_send(db, n, SendState::Skipped, "nudge_skipped", "skipped",
                    {{"reason", skip_reason}}, now);
      }
      return;
    }
    if (!prior) {
      start.proceed = true;
      return;
    }
    switch (*prior) {
      case SendState::Failed:
        // An earlier try failed for certain (Whop answered an error): nothing was sent.
        store::finish_send(db, n.case_id, n.attempt, n.channel, SendState::Sending, now);
        start.proceed = true;
        break;
      case SendState::Sending:
        // An earlier try died mid-call: it may have been sent. Never send twice.
        record_send(db, n, SendState::Unknown, "nudge_unknown", "unknown",
                    {{"reason", "interrupted before the outcome was known"}}, now);
        break;
      case SendState::Sent:
      case SendState::Unknown:
      case SendState::Skipped:
        break;  // final
    }
  });
  if (!st) return Error{st.error()};
  return start;
}

void RecoveryEngine::record_send(SQLite::Database& db, const ChannelSend& n,
                                 domain::SendState state, const std::string& type,
                                 const std::string& outcome, const nlohmann::json& meta,
                                 int64_t now) {
  store::finish_send(db, n.case_id, n.attempt, n.channel, state, now);
  store::save_action(db, {n.case_id, now, type, n.channel, attempt_number(n.attempt), n.actor,
                          outcome, meta.dump()});
}

JobOutcome RecoveryEngine::settle_nudge(const ChannelSend& n,
                                        const std::optional<whop::ApiError>& err,
                                        bool nothing_sent) {
  using domain::SendState;
  const int64_t now = clock_.now_ms();
  auto write = [&](SendState state, const char* type, const char* outcome,
                   const nlohmann::json& meta) {
    writer_.run([&](SQLite::Database& db) { record_send(db, n, state, type, outcome, meta, now); });
  };
  if (!err) {
    write(SendState::Sent, "nudge_sent", "sent", nlohmann::json::object());
    return JobOutcome::success();
  }
  if (err->outcome_unknown && !nothing_sent) {
    // The request may have been delivered (no answer, or a 5xx that a proxy may have sent after
    // Whop acted). Never send the same nudge twice: record it as unknown and stop.
    write(SendState::Unknown, "nudge_unknown", "unknown", error_meta(*err));
    return JobOutcome::success();
  }
  write(SendState::Failed, "nudge_failed", "failed", error_meta(*err));
  return outcome_of(*err);
}

domain::ContactDecision RecoveryEngine::contact_check(const std::string& case_id,
                                                      const domain::ContactPolicy& policy) {
  const int64_t now = clock_.now_ms();
  auto db = reads_.lease();
  auto c = store::find_case(*db, case_id);
  if (!c) return {domain::ContactVerdict::Stop, 0, "case_gone"};
  return domain::may_contact(c->status, store::contact_group(*db, case_id), c->first_failure_at,
                             store::list_contact_events(*db, c->membership_id), now, policy);
}

JobOutcome RecoveryEngine::wait(const domain::ContactDecision& d) {
  return JobOutcome::defer(d.reason, std::max<int64_t>(1, d.retry_at - clock_.now_ms()));
}

std::optional<JobOutcome> RecoveryEngine::hold_nudge(const ChannelSend& n) {
  const auto d = contact_check(n.case_id, domain::contact_policy(n.actor != "system"));
  if (d.verdict == domain::ContactVerdict::Go) return std::nullopt;
  const int64_t now = clock_.now_ms();
  if (d.verdict == domain::ContactVerdict::Stop) {
    writer_.run([&](SQLite::Database& db) {
      record_send(db, n, domain::SendState::Skipped, "nudge_skipped", "skipped",
                  {{"reason", d.reason}}, now);
    });
    return JobOutcome::success();
  }
  // Nothing was sent: the next try may send (Failed is the state of a certain non-send).
  writer_.run([&](SQLite::Database& db) {
    store::finish_send(db, n.case_id, n.attempt, n.channel, domain::SendState::Failed, now);
  });
  return wait(d);
}

std::string RecoveryEngine::first_name(const store::CaseRow& c) {
  // The member's name is read from the sealed payload just for this message.
  std::string name;
  {
    auto db = reads_.lease();
    if (auto ev = store::find_latest_event_with_payload(*db, c.membership_id)) {
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
  if (name.empty()) name = c.username.empty() ? "there" : c.username;
  auto space = name.find(' ');
  if (space != std::string::npos) name = name.substr(0, space);
  return name;
}

int RecoveryEngine::incentive_days_of(const std::string& case_id) {
  auto db = reads_.lease();
  auto inc = store::find_incentive(*db, case_id);
  return inc ? domain::offered_incentive_days(inc->state, inc->days) : 0;
}

JobOutcome RecoveryEngine::deliver_nudge(const ChannelSend& n, const store::CaseRow& c,
                                         const std::string& link,
                                         const domain::RecoverySettings& settings) {
  const std::map<std::string, std::string> vars = {
      {"name", first_name(c)},
      {"amount", domain::format_money(c.amount_due_cents, c.currency)},
      {"product", c.product_title.empty() ? "your membership" : c.product_title},
      {"manage_url", link},
      {"incentive_days", std::to_string(incentive_days_of(n.case_id))},
      {"deadline", domain::format_deadline(c.first_failure_at)}};
  // The copy of this step (first, reminder, final notice) for this kind of failure, from the
  // case's experiment arm when it has one.
  std::optional<domain::Experiment> experiment;
  std::string arm;
  {
    auto db = reads_.lease();
    if (auto ca = store::case_arm(*db, n.case_id)) {
      arm = ca->arm;
      experiment = store::find_experiment(*db, ca->experiment_id);
    }
  }
  const auto playbook = domain::playbook_for(settings, experiment ? &*experiment : nullptr, arm);
  const auto words = domain::render_nudge(
      *playbook.copy, domain::step_for_attempt(n.attempt, settings.reminder_offsets_days.size()),
      domain::classify_failure(c.failure_message), vars);
  const auto cfg = config();
  if (auto held = hold_nudge(n)) return *held;
  if (n.channel == "push") {
    auto r = whop_.send_push(cfg.experience_id, {c.user_id}, words.push_title, words.push_content);
    return settle_nudge(n, r ? std::nullopt : std::optional(r.error()), false);
  }
  std::string dm_channel;
  {
    auto db = reads_.lease();
    dm_channel = store::find_dm_channel(*db, n.case_id);
  }
  if (dm_channel.empty()) {
    auto ch = whop_.open_dm_channel(c.user_id, cfg.company_id);
    if (!ch) {
      // Opening a channel sends nothing: a failure here is a certain non-send.
      auto e = ch.error();
      e.outcome_unknown = false;
      return settle_nudge(n, e, true);
    }
    dm_channel = *ch;
    writer_.run([&](SQLite::Database& db) { store::save_dm_channel(db, n.case_id, dm_channel); });
    if (auto held = hold_nudge(n)) return *held;
  }
  auto r = whop_.send_dm(dm_channel, words.dm_content);
  return settle_nudge(n, r ? std::nullopt : std::optional(r.error()), false);
}

JobOutcome RecoveryEngine::run_incentive(const store::Job& job) {
  auto p = parse_payload(job);
  const std::string case_id = str(p, "case_id");
  if (case_id.empty()) return JobOutcome::fatal("malformed incentive job");
  int64_t now = clock_.now_ms();
  std::optional<store::CaseRow> c;
  std::optional<store::IncentiveState> inc;
  bool done = false;
  domain::ContactDecision decision;
  auto st = writer_.run([&](SQLite::Database& db) {
    c = store::find_case(db, case_id);
    inc = store::find_incentive(db, case_id);
    if (!c || !inc) {
      done = true;
      return;
    }
    switch (inc->state) {
      case domain::IncentiveState::Granted:
      case domain::IncentiveState::Off:
      case domain::IncentiveState::Failed:
        done = true;  // final
        return;
      case domain::IncentiveState::Granting:
        return;  // an earlier grant may have taken effect: always verify it
      case domain::IncentiveState::None:
      case domain::IncentiveState::Pending:
      case domain::IncentiveState::Queued:
        break;
    }
    decision =
        domain::may_contact(c->status, store::contact_group(db, case_id), c->first_failure_at,
                            store::list_contact_events(db, c->membership_id), now);
    if (decision.verdict == domain::ContactVerdict::Stop) {
      inc->state = domain::IncentiveState::Off;
      store::save_incentive(db, case_id, *inc);
      store::save_action(db, {case_id, now, "incentive_skipped", "", std::nullopt, "system",
                              "skipped", nlohmann::json{{"reason", decision.reason}}.dump()});
      done = true;
    }
  });
  if (!st) return JobOutcome::failure(st.error());
  if (done) return JobOutcome::success();
  if (decision.verdict == domain::ContactVerdict::Wait) {
    return JobOutcome::defer(decision.reason, std::max<int64_t>(1, decision.retry_at - now));
  }

  auto set_state = [&](domain::IncentiveState state, const std::string& type,
                       const std::string& outcome, const nlohmann::json& meta) {
    int64_t t = clock_.now_ms();
    inc->state = state;
    return writer_.run([&](SQLite::Database& db) {
      store::save_incentive(db, case_id, *inc);
      store::save_action(db, {case_id, t, type, "", std::nullopt, "system", outcome, meta.dump()});
    });
  };

  // Read the membership first: the baseline to verify against, or the read-back after an
  // earlier try whose outcome is unknown.
  auto m = whop_.get_membership(c->membership_id);
  if (!m) {
    if (!m.error().retryable && m.error().code != "not_configured") {
      set_state(domain::IncentiveState::Failed, "incentive_failed", "failed",
                error_meta(m.error()));
      return JobOutcome::fatal(m.error().message);
    }
    return outcome_of(m.error());
  }
  auto end = renewal_end(*m);
  if (inc->state == domain::IncentiveState::Granting) {
    if (!inc->baseline || !end) {
      // Cannot tell whether the earlier grant took effect: never risk granting twice.
      set_state(domain::IncentiveState::Failed, "incentive_failed", "unverifiable",
                {{"reason", "renewal_period_end unknown; not retried to avoid a double grant"}});
      return JobOutcome::success();
    }
    if (*end >= *inc->baseline + static_cast<int64_t>(inc->days) * kDayMs) {
      set_state(domain::IncentiveState::Granted, "incentive_granted", "granted",
                {{"days", inc->days}, {"confirmed", "read_back"}});
      return JobOutcome::success();
    }
  }
  // Right before the grant: the member may have paid, or more events may have arrived, meanwhile.
  const auto last = contact_check(case_id);
  if (last.verdict == domain::ContactVerdict::Stop) {
    set_state(domain::IncentiveState::Off, "incentive_skipped", "skipped",
              {{"reason", last.reason}});
    return JobOutcome::success();
  }
  if (last.verdict == domain::ContactVerdict::Wait) {
    return JobOutcome::defer(last.reason, std::max<int64_t>(1, last.retry_at - clock_.now_ms()));
  }
  if (inc->state != domain::IncentiveState::Granting) {
    inc->baseline = end;
    auto s2 = set_state(domain::IncentiveState::Granting, "incentive_intent", "intent",
                        {{"days", inc->days}});
    if (!s2) return JobOutcome::failure(s2.error());
  }

  auto r = whop_.add_free_days(c->membership_id, inc->days);
  if (r) {
    set_state(domain::IncentiveState::Granted, "incentive_granted", "granted",
              {{"days", inc->days}});
    return JobOutcome::success();
  }
  const auto& e = r.error();
  if (!e.retryable && !e.outcome_unknown && e.code != "not_configured") {
    set_state(domain::IncentiveState::Failed, "incentive_failed", "failed", error_meta(e));
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

Result<std::string> RecoveryEngine::nudge_now(const std::string& case_id) {
  auto settings = settings_();
  int64_t now = clock_.now_ms();
  std::string problem, attempt;
  auto st = writer_.run([&](SQLite::Database& db) {
    auto c = store::find_case(db, case_id);
    if (!c) {
      problem = "No such case.";
      return;
    }
    const bool holdout = store::contact_group(db, case_id) == domain::ContactGroup::Holdout;
    if (!domain::allowed_actions(c->status, c->resolution, holdout).nudge) {
      problem = holdout ? std::string(
                              "This case is in an experiment's holdout: nobody contacts "
                              "it, so the holdout shows what happens without nudges.")
                        : std::string("This case is ") + domain::status_name(c->status) +
                              "; only open cases can be nudged.";
      return;
    }
    std::vector<std::string> channels;
    if (settings.push_enabled) channels.push_back("push");
    if (settings.dm_enabled) channels.push_back("dm");
    if (channels.empty()) {
      problem = "No channel is switched on in settings.";
      return;
    }
    attempt = "m" + std::to_string(store::count_manual_sends(db, case_id) + 1);
    for (const auto& ch : channels) {
      // One job per channel: the case page follows each channel's job by its key.
      auto j = make_job(NudgeJob{case_id, attempt, {ch}, "admin"}, now,
                        "nudge:" + case_id + ":" + attempt + ":" + ch, 8);
      store::enqueue_job(db, j, now);
      // Reserve the attempt name so the next manual nudge gets a new one.
      store::begin_send(db, case_id, attempt, ch, "admin", now);
      store::finish_send(db, case_id, attempt, ch, domain::SendState::Failed, now);
    }
    store::save_action(db, {case_id, now, "nudge_requested", "", std::nullopt, "admin", "queued",
                            nlohmann::json{{"attempt", attempt}}.dump()});
  });
  if (!st) return Error{st.error()};
  if (!problem.empty()) return Error{problem};
  return attempt;
}

Status RecoveryEngine::cancel_case(const std::string& case_id) {
  int64_t now = clock_.now_ms();
  bool cancelled = false;
  auto st = writer_.run([&](SQLite::Database& db) {
    auto c = store::find_case(db, case_id);
    cancelled = c && domain::allowed_actions(c->status, c->resolution).cancel &&
                store::cancel_case(db, case_id, now);
    if (cancelled) {
      store::save_action(
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
    const auto allowed = domain::allowed_actions(c->status, c->resolution);
    if (!(mode == "immediate" ? allowed.terminate : allowed.cancel_at_period_end)) {
      problem = "This case does not allow that.";
      return;
    }
    auto j = make_job(WhopCancelJob{case_id, c->membership_id, mode}, now,
                      "cancel:" + case_id + ":" + mode, 8);
    if (!store::enqueue_job(db, j, now)) {
      problem = "This was already requested for this case.";
      return;
    }
    // The membership ends at period end: recovery stops now (no nudge, no incentive).
    if (mode == "at_period_end" && c->status == domain::CaseStatus::Open &&
        store::cancel_case(db, case_id, now, domain::Resolution::PeriodEnd)) {
      store::save_action(db,
                         {case_id, now, "case_cancelled", "", std::nullopt, "admin", "cancelled",
                          nlohmann::json{{"reason", "cancel_at_period_end"}}.dump()});
    }
    store::save_action(db, {case_id, now, "membership_cancel_requested", "", std::nullopt, "admin",
                            "queued", nlohmann::json{{"mode", mode}}.dump()});
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
      store::save_click(db, target->case_id, now);
      store::save_action(
          db, {target->case_id, now, "link_clicked", "", std::nullopt, "system", "clicked", "{}"});
    }
  });
  if (!st || !target || target->manage_url.empty()) return std::nullopt;
  return target->manage_url;
}

}  // namespace cs::jobs
