#pragma once
// The words of a nudge: copy per step (first notice, reminder, final notice) and channel, optional
// copy per failure category, the placeholders and the one renderer. Pure.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "domain/case_state.h"

namespace cs::domain {

/// Which nudge of a case this is. The first scheduled attempt is the first notice, the last
/// scheduled attempt (when there are two or more) the final notice before Whop cancels, every
/// other one (and a creator's "Nudge now") a reminder.
enum class NudgeStep { First, Reminder, Final };
constexpr std::array<NudgeStep, 3> kNudgeSteps = {NudgeStep::First, NudgeStep::Reminder,
                                                  NudgeStep::Final};
const char* step_name(NudgeStep s);   // "first", "reminder", "final"
const char* step_label(NudgeStep s);  // "First notice", ...
/// `attempt` as the engine names it: "0", "1", ... for scheduled attempts, "m1", ... for manual.
NudgeStep step_for_attempt(std::string_view attempt, size_t scheduled_attempts);

/// What kind of failure Whop's free-text `failure_message` describes.
enum class FailureCategory {
  InsufficientFunds,
  ExpiredCard,
  Declined,
  AuthenticationRequired,
  Other
};
constexpr std::array<FailureCategory, 4> kSpecificCategories = {
    FailureCategory::InsufficientFunds, FailureCategory::ExpiredCard, FailureCategory::Declined,
    FailureCategory::AuthenticationRequired};
const char* category_name(FailureCategory c);   // "insufficient_funds", ...
const char* category_label(FailureCategory c);  // "Insufficient funds", ...
std::optional<FailureCategory> category_from_name(std::string_view name);
/// The rule table: the first rule whose phrase occurs in the message (case-insensitive) wins;
/// authentication, then expired card, then insufficient funds, then declined; else Other.
FailureCategory classify_failure(std::string_view failure_message);

/// One step's words for both channels. Push is plain text; the DM is markdown.
struct MessageTemplates {
  std::string push_title, push_content, dm_content;
  bool operator==(const MessageTemplates&) const = default;
};
constexpr std::array<const char*, 3> kCopyFields = {"push_title", "push_content", "dm_content"};
std::string& copy_field(MessageTemplates& t, std::string_view field);
const std::string& copy_field(const MessageTemplates& t, std::string_view field);

/// All the creator's copy. Step copy is always complete; a category's copy overrides the step
/// copy field by field (an empty field falls back to the step's).
struct MessageCopy {
  std::array<MessageTemplates, 3> steps;  // indexed by NudgeStep
  std::map<std::pair<FailureCategory, NudgeStep>, MessageTemplates> by_category;
  MessageCopy();  // the defaults, good enough to send unchanged
  MessageTemplates& step(NudgeStep s) { return steps[static_cast<size_t>(s)]; }
  const MessageTemplates& step(NudgeStep s) const { return steps[static_cast<size_t>(s)]; }
  bool operator==(const MessageCopy&) const = default;
};

/// The form field (and error key) of one piece of copy: "first.push_title" or, for a category,
/// "insufficient_funds.final.dm_content".
std::string copy_key(NudgeStep s, std::string_view field);
std::string copy_key(FailureCategory c, NudgeStep s, std::string_view field);

/// The copy a nudge uses: the category's copy for the step where set, else the step's.
MessageTemplates select_copy(const MessageCopy& copy, NudgeStep step, FailureCategory category);

/// The placeholders copy may use, and the sections ({{#incentive_days}}...{{/incentive_days}}
/// shown when there are free days, {{^incentive_days}}...{{/incentive_days}} when there are none).
const std::vector<std::string>& template_placeholders();

/// Replaces {{name}} etc. with `vars` and keeps or drops sections: {{#x}}..{{/x}} is kept when x
/// is set, non-empty and not "0"; {{^x}}..{{/x}} when it is not. No escaping (push and DM text
/// are plain text/markdown). Unknown placeholders stay as they are.
std::string render_template(const std::string& tmpl,
                            const std::map<std::string, std::string>& vars);

/// "" when `text` is fine as copy, else what is wrong (known placeholders, closed sections,
/// at most 2000 characters; empty only when `may_be_empty`).
std::string check_copy(const std::string& text, bool may_be_empty);

/// Every problem of the copy, keyed by copy_key().
std::map<std::string, std::string> validate_copy(const MessageCopy& copy);

/// Whop retries a failed renewal for about this long, then cancels the membership.
constexpr int64_t kWhopRetryMs = 5LL * 86400000;
/// When Whop will cancel: first failure + Whop's retries, as a member reads a date
/// ("Friday, December 4", UTC).
std::string format_deadline(int64_t first_failure_at);

/// {{incentive_days}} of a case: its days while they are offered or granted, 0 when the incentive
/// is off or failed (the copy's {{#incentive_days}} sections then drop out).
int offered_incentive_days(IncentiveState state, int days);

/// The rendered words of one nudge.
struct RenderedNudge {
  std::string push_title, push_content, dm_content;
};
RenderedNudge render_nudge(const MessageCopy& copy, NudgeStep step, FailureCategory category,
                           const std::map<std::string, std::string>& vars);

/// Storage: {"first": {...}, "reminder": {...}, "final": {...},
/// "by_category": {"expired_card": {"final": {"dm_content": "..."}}}}.
nlohmann::json copy_to_json(const MessageCopy& c);
MessageCopy copy_from_json(const nlohmann::json& j);
/// A recovery settings object saved before copy per step (top-level "push_title",
/// "push_content", "dm_content", no "copy") gets a "copy" holding what the creator wrote for
/// every step; a template still equal to the old default gives way to the new step defaults.
void upgrade_legacy_copy(nlohmann::json& stored);

}  // namespace cs::domain
