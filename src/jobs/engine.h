#pragma once
// The recovery engine's job handlers (nudges, incentives, membership cancellation) and the
// creator's manual actions on a case. Everything that calls Whop runs as a job through the queue
// and is safe against retries and crashes:
// - a nudge is unique per (case, attempt, channel): the send intent is recorded before the call,
//   and a send whose outcome is unknown is never repeated (one job carries a nudge's channels;
//   each channel is settled on its own, so a retry sends only the channels still unsent);
// - free days are granted at most once: intent (with the membership's renewal_period_end before
//   the grant) is recorded first, and after an unknown outcome the membership is read back.
#include <functional>
#include <mutex>
#include <string>

#include "domain/settings.h"
#include "jobs/kinds.h"
#include "jobs/runner.h"
#include "store/cases.h"
#include "store/db.h"
#include "store/writer.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "whop/client.h"

namespace cs::jobs {

struct EngineConfig {
  std::string public_url;     // CHURN_SAVER_PUBLIC_URL: base of tracked links ("" = no tracking)
  std::string company_id;     // CHURN_SAVER_WHOP_COMPANY_ID
  std::string experience_id;  // CHURN_SAVER_WHOP_EXPERIENCE_ID (push needs it)
};

class RecoveryEngine {
 public:
  using SettingsFn = std::function<domain::RecoverySettings()>;
  RecoveryEngine(store::Writer& writer, store::ReadPool& reads, whop::Client& whop,
                 const crypto::Keyring& keys, const Clock& clock, EngineConfig config,
                 SettingsFn settings);

  /// Replaces the connection values (public URL, company id, experience id) in force; jobs that
  /// start afterwards use them (the settings page changes them without a restart).
  void set_config(EngineConfig config);

  /// Registers the handlers for "nudge", "incentive" and "whop_cancel".
  void install(JobRunner& runner);

  /// Sends the job's nudge on each of its channels in turn and combines their outcomes: success
  /// when every channel is settled; else a retry (a channel may still succeed), a deferral (every
  /// unsettled channel waits), or dead (every unsettled channel failed for good). A channel that
  /// is settled (sent, unknown, skipped) is never called again on a retry.
  JobOutcome run_nudge(const store::Job& job);
  JobOutcome run_incentive(const store::Job& job);
  JobOutcome run_whop_cancel(const store::Job& job);

  // --- Manual actions (actor admin). Each enqueues its work and writes a recovery_actions row.
  /// Sends a nudge now on every enabled channel. Error if the case is not open.
  Result<std::string> nudge_now(const std::string& case_id);  // Ok: the attempt ("m2")
  /// Stops nudging: the case becomes cancelled. Error if it is not open.
  Status cancel_case(const std::string& case_id);
  /// Asks Whop to cancel the membership at the end of the period.
  Status cancel_at_period_end(const std::string& case_id);
  /// Asks Whop to end the membership now.
  Status terminate_now(const std::string& case_id);

  /// The tracked link for a case token: records the click and returns where to redirect.
  std::optional<std::string> follow_link(const std::string& token);

 private:
  /// One channel of a nudge: the unit of a send intent in nudge_sends.
  struct ChannelSend {
    std::string case_id, attempt, channel, actor;
  };
  /// One channel's try; `link` is read once per job run and shared by its channels.
  JobOutcome run_channel(const ChannelSend& n, const domain::RecoverySettings& settings,
                         std::optional<whop::ApiResult<std::string>>& link);
  /// What begin_nudge found: the case, and whether this try may call Whop.
  struct NudgeStart {
    std::optional<store::CaseRow> c;
    bool proceed = false;
    domain::ContactDecision contact;  // Wait: nothing recorded, try again later
  };
  /// domain::may_contact on a fresh read of the case and its membership's stored events.
  domain::ContactDecision contact_check(const std::string& case_id,
                                        const domain::ContactPolicy& policy = {});
  /// The check right before a nudge's call to Whop: nullopt to go on, else the job's outcome
  /// (the send is settled as Skipped, or left Failed to be tried again after a wait).
  std::optional<JobOutcome> hold_nudge(const ChannelSend& n);
  JobOutcome wait(const domain::ContactDecision& d);
  /// Records the send intent (or the skip, or the unknown outcome of an interrupted try).
  Result<NudgeStart> begin_nudge(const ChannelSend& n, const domain::RecoverySettings& settings);
  /// Sends the nudge on its channel and settles its state.
  JobOutcome deliver_nudge(const ChannelSend& n, const store::CaseRow& c, const std::string& link,
                           const domain::RecoverySettings& settings);
  /// Records the outcome of a try: Sent, Unknown (may have been sent) or Failed (`nothing_sent`
  /// when the failing call could not have sent anything).
  JobOutcome settle_nudge(const ChannelSend& n, const std::optional<whop::ApiError>& err,
                          bool nothing_sent);
  static void record_send(SQLite::Database& db, const ChannelSend& n, domain::SendState state,
                          const std::string& type, const std::string& outcome,
                          const nlohmann::json& meta, int64_t now);
  /// The member's first name for a message ("there" when unknown).
  std::string first_name(const store::CaseRow& c);
  int incentive_days_of(const std::string& case_id);  // for {{incentive_days}}

  Status enqueue_cancel(const std::string& case_id, const std::string& mode);
  /// Reads the membership's manage_url (cached on the case) and returns the link to send.
  whop::ApiResult<std::string> manage_link(const std::string& case_id,
                                           const std::string& membership_id);
  void audit(const std::string& case_id, const std::string& type, const std::string& channel,
             std::optional<int> attempt, const std::string& actor, const std::string& outcome,
             const nlohmann::json& meta);

  EngineConfig config() const;

  store::Writer& writer_;
  store::ReadPool& reads_;
  whop::Client& whop_;
  const crypto::Keyring& keys_;
  const Clock& clock_;
  mutable std::mutex config_mu_;  // guards config_
  EngineConfig config_;
  SettingsFn settings_;
};

/// A JobOutcome for a failed Whop call: retry later when it may succeed, dead otherwise.
JobOutcome outcome_of(const whop::ApiError& e);

}  // namespace cs::jobs
