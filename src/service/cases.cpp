#include "service/cases.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "store/cases.h"
#include "store/engine.h"
#include "store/jobs.h"

namespace cs::service {
namespace {

/// How long "Nudge now" waits for its sends to settle before answering (they carry on after).
constexpr auto kNudgeWait = std::chrono::seconds(10);

/// A skip reason (nudge_skipped metadata) in words.
std::string skip_words(const std::string& reason) {
  if (reason == "paid") return "the member has already paid";
  if (reason.rfind("case_", 0) == 0) return "the case is " + reason.substr(5);
  if (reason == "notifications_disabled") return "notifications are switched off";
  if (reason == "no_experience_id") {
    return "no Whop experience id is set in Settings (a push needs it)";
  }
  if (reason == "no_company_id") return "no Whop company id is set in Settings";
  return reason.empty() ? "no reason recorded" : reason;
}

/// One channel's outcome in words, or "" while it is still being sent.
std::string channel_outcome(SQLite::Database& db, const std::string& case_id,
                            const std::string& attempt, const std::string& channel,
                            int64_t requested_at, int64_t now, bool& sent) {
  const std::string name = channel == "dm" ? "Direct message" : "Push";
  auto job = store::find_job_by_key(db, "nudge:" + case_id + ":" + attempt + ":" + channel);
  if (!job) return "";
  const bool waiting = job->state == "queued" && job->run_at > now;
  if (job->state == "running" || (job->state == "queued" && !waiting)) return "";
  std::optional<domain::SendState> state;
  for (const auto& s : store::list_sends_for_case(db, case_id)) {
    if (s.attempt == attempt && s.channel == channel) state = s.state;
  }
  if (state == domain::SendState::Sent) {
    sent = true;
    return name + " sent.";
  }
  if (state == domain::SendState::Skipped) {
    std::string reason;
    for (const auto& a : store::list_actions_for_case(db, case_id)) {
      if (a.type == "nudge_skipped" && a.channel == channel && a.at >= requested_at) {
        auto m = nlohmann::json::parse(a.metadata, nullptr, false);
        if (m.is_object() && m.contains("reason") && m["reason"].is_string()) reason = m["reason"];
      }
    }
    return name + " skipped: " + skip_words(reason) + ".";
  }
  if (state == domain::SendState::Unknown) {
    return name +
           ": Whop did not confirm it, so it is not sent again (the member never gets it "
           "twice).";
  }
  if (job->state == "dead") return name + " failed: " + job->last_error + ".";
  if (job->state == "failed") {
    return name + " failed: " + job->last_error + ". It is retried automatically.";
  }
  return name + " not sent yet: it waits for a check to pass and is tried again shortly.";
}

Result<std::string> nudge_outcome(Context& ctx, const std::string& case_id,
                                  const std::string& attempt) {
  if (ctx.wake_jobs) ctx.wake_jobs();
  const int64_t requested_at = ctx.clock.now_ms();
  const auto until = std::chrono::steady_clock::now() + kNudgeWait;
  while (true) {
    bool any = false, pending = false, all_sent = true;
    std::string words;
    {
      auto db = ctx.reads->lease();
      for (const char* ch : {"push", "dm"}) {
        if (!store::find_job_by_key(*db, "nudge:" + case_id + ":" + attempt + ":" + ch)) continue;
        any = true;
        bool sent = false;
        auto w = channel_outcome(*db, case_id, attempt, ch, requested_at, ctx.clock.now_ms(), sent);
        if (w.empty()) {
          pending = true;
          break;
        }
        all_sent = all_sent && sent;
        words += (words.empty() ? "" : " ") + w;
      }
    }
    if (any && !pending) {
      if (all_sent) return "Nudge sent. " + words;
      return Error{"Nudge not fully sent. " + words};
    }
    if (std::chrono::steady_clock::now() >= until) {
      return std::string(
          "Nudge queued: Whop has not answered yet. The Nudges table shows the outcome.");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

std::optional<CaseAction> case_action_from_name(const std::string& name) {
  if (name == "nudge") return CaseAction::NudgeNow;
  if (name == "cancel") return CaseAction::Cancel;
  if (name == "cancel-at-period-end") return CaseAction::CancelAtPeriodEnd;
  if (name == "terminate") return CaseAction::TerminateNow;
  return std::nullopt;
}

Result<std::string> run_case_action(Context& ctx, jobs::RecoveryEngine* engine,
                                    const std::string& case_id, CaseAction action) {
  if (!engine) return Error{"The recovery engine is not running."};
  Status st = Ok{};
  std::string done;
  switch (action) {
    case CaseAction::NudgeNow: {
      auto attempt = engine->nudge_now(case_id);
      if (!attempt) return Error{attempt.error()};
      return nudge_outcome(ctx, case_id, *attempt);
    }
    case CaseAction::Cancel:
      st = engine->cancel_case(case_id);
      done = "Case cancelled: no more nudges will be sent.";
      break;
    case CaseAction::CancelAtPeriodEnd:
      st = engine->cancel_at_period_end(case_id);
      done = "Asked Whop to cancel the membership at the end of the period.";
      break;
    case CaseAction::TerminateNow:
      st = engine->terminate_now(case_id);
      done = "Asked Whop to end the membership now.";
      break;
  }
  if (!st) return Error{st.error()};
  return done;
}

}  // namespace cs::service
