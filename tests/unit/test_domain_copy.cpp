// Copy per step and per kind of failure (issue 10 item 7): the failure-category rule table on real
// decline messages, the step of an attempt, the selection of copy, the renderer and the defaults.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "domain/copy.h"
#include "domain/settings.h"

using namespace cs::domain;

namespace {
const std::map<std::string, std::string> kVars = {
    {"name", "Alex"},        {"amount", "$29.99"},
    {"product", "Pro"},      {"manage_url", "https://whop.com/m"},
    {"incentive_days", "3"}, {"deadline", "Friday, December 4"}};
std::map<std::string, std::string> without_incentive() {
  auto v = kVars;
  v["incentive_days"] = "0";
  return v;
}
}  // namespace

TEST_CASE("failure categories: real decline messages and codes") {
  struct Case {
    const char* message;
    FailureCategory want;
  };
  const Case cases[] = {
      {"Your card has insufficient funds.", FailureCategory::InsufficientFunds},
      {"insufficient_funds", FailureCategory::InsufficientFunds},
      {"Your card was declined. Decline code: insufficient_funds",
       FailureCategory::InsufficientFunds},
      {"Your card has expired.", FailureCategory::ExpiredCard},
      {"expired_card", FailureCategory::ExpiredCard},
      {"Your card's expiration date is incorrect.", FailureCategory::ExpiredCard},
      {"Your card was declined.", FailureCategory::Declined},
      {"card_declined", FailureCategory::Declined},
      {"do_not_honor", FailureCategory::Declined},
      {"Your card was declined. Do not honor.", FailureCategory::Declined},
      {"generic_decline", FailureCategory::Declined},
      {"The card has been declined for an unknown reason.", FailureCategory::Declined},
      {"lost_card", FailureCategory::Declined},
      {"stolen_card", FailureCategory::Declined},
      {"fraudulent", FailureCategory::Declined},
      {"This payment requires authentication", FailureCategory::AuthenticationRequired},
      {"authentication_required", FailureCategory::AuthenticationRequired},
      {"Your card was declined. This transaction requires authentication.",
       FailureCategory::AuthenticationRequired},
      {"3D Secure verification failed", FailureCategory::AuthenticationRequired},
      {"requires_action", FailureCategory::AuthenticationRequired},
      {"YOUR CARD HAS INSUFFICIENT FUNDS.", FailureCategory::InsufficientFunds},
      {"", FailureCategory::Other},
      {"An error occurred while processing your card. Try again in a little bit.",
       FailureCategory::Other},
      {"processing_error", FailureCategory::Other},
      {"Your card number is incorrect.", FailureCategory::Other},
  };
  for (const auto& c : cases) {
    INFO(c.message);
    CHECK(classify_failure(c.message) == c.want);
  }
}

TEST_CASE("steps: first attempt, reminders, the last scheduled attempt is the final notice") {
  CHECK(step_for_attempt("0", 3) == NudgeStep::First);
  CHECK(step_for_attempt("1", 3) == NudgeStep::Reminder);
  CHECK(step_for_attempt("2", 3) == NudgeStep::Final);
  CHECK(step_for_attempt("1", 2) == NudgeStep::Final);
  CHECK(step_for_attempt("3", 5) == NudgeStep::Reminder);
  CHECK(step_for_attempt("4", 5) == NudgeStep::Final);
  CHECK(step_for_attempt("0", 1) == NudgeStep::First);      // one reminder: the first notice
  CHECK(step_for_attempt("m1", 3) == NudgeStep::Reminder);  // Nudge now
  CHECK(step_for_attempt("", 3) == NudgeStep::Reminder);
  CHECK(step_for_attempt("99999999999", 3) == NudgeStep::Reminder);
}

TEST_CASE("select_copy: the category's field where set, else the step's") {
  MessageCopy c;
  c.step(NudgeStep::Final).dm_content = "final dm";
  c.step(NudgeStep::Final).push_title = "final title";
  c.by_category[{FailureCategory::ExpiredCard, NudgeStep::Final}] = {"", "", "expired final dm"};
  auto t = select_copy(c, NudgeStep::Final, FailureCategory::ExpiredCard);
  CHECK(t.dm_content == "expired final dm");
  CHECK(t.push_title == "final title");
  CHECK(select_copy(c, NudgeStep::Final, FailureCategory::Declined).dm_content == "final dm");
  CHECK(select_copy(c, NudgeStep::First, FailureCategory::ExpiredCard).dm_content ==
        MessageCopy().step(NudgeStep::First).dm_content);
}

TEST_CASE("render: placeholders and incentive sections") {
  const std::string t =
      "Hi {{ name }}.{{#incentive_days}} {{incentive_days}} free days.{{/incentive_days}}"
      "{{^incentive_days}} No free days.{{/incentive_days}} By {{deadline}}. {{unknown}}";
  CHECK(render_template(t, kVars) == "Hi Alex. 3 free days. By Friday, December 4. {{unknown}}");
  CHECK(render_template(t, without_incentive()) ==
        "Hi Alex. No free days. By Friday, December 4. {{unknown}}");
  CHECK(render_template("a {{/incentive_days}} b {{name", kVars) ==
        "a {{/incentive_days}} b {{name");
}

TEST_CASE("check_copy: placeholders, sections and length") {
  CHECK(check_copy("Hi {{name}} {{deadline}} {{incentive_days}}", false).empty());
  CHECK(check_copy("{{#incentive_days}}x{{/incentive_days}}", false).empty());
  CHECK(check_copy("", false) == "The message cannot be empty.");
  CHECK(check_copy("", true).empty());
  CHECK(check_copy("Hi {{nmae}}", false).find("Unknown placeholder {{nmae}}") == 0);
  CHECK(check_copy("{{#incentive_days}}x", false).find("is not closed") != std::string::npos);
  CHECK(check_copy("x{{/incentive_days}}", false).find("was not opened") != std::string::npos);
  CHECK(check_copy("Hi {{name", false).find("not closed") != std::string::npos);
  CHECK(check_copy(std::string(2001, 'x'), false) == "Keep the message under 2000 characters.");
  MessageCopy c;
  CHECK(validate_copy(c).empty());
  c.step(NudgeStep::Final).dm_content = "";
  c.by_category[{FailureCategory::Declined, NudgeStep::First}] = {"{{oops}}", "", ""};
  auto e = validate_copy(c);
  CHECK(e.count("final.dm_content") == 1);
  CHECK(e.count("declined.first.push_title") == 1);
  CHECK(e.size() == 2);
}

TEST_CASE("deadline: first failure plus Whop's 5 days, as a member reads a date") {
  // 2026-11-29T21:00:00Z + 5 days = Friday, December 4.
  CHECK(format_deadline(1795986000000) == "Friday, December 4");
}

TEST_CASE("defaults: every step is valid, names the deadline and links to the card update") {
  MessageCopy c;
  for (auto s : kNudgeSteps) {
    for (auto vars : {kVars, without_incentive()}) {
      auto n = render_nudge(c, s, FailureCategory::Other, vars);
      INFO(step_name(s), " incentive=", vars["incentive_days"]);
      CHECK(n.push_content.find("https://whop.com/m") != std::string::npos);
      CHECK(n.dm_content.find("https://whop.com/m") != std::string::npos);
      CHECK(n.dm_content.find("Friday, December 4") != std::string::npos);
      CHECK(n.dm_content.find("{{") == std::string::npos);
      CHECK(n.push_title.find("{{") == std::string::npos);
      CHECK(n.dm_content.find("0 free days") == std::string::npos);
    }
  }
  auto first = render_nudge(c, NudgeStep::First, FailureCategory::Other, kVars);
  CHECK(first.dm_content.find("**3 free days**") != std::string::npos);
  auto final_words = render_nudge(c, NudgeStep::Final, FailureCategory::Other, kVars);
  CHECK(final_words.dm_content.find("last reminder") != std::string::npos);
  CHECK(final_words.push_title == "Last reminder: Pro ends on Friday, December 4");
}

TEST_CASE("storage: copy round-trips and old saved templates keep what the creator wrote") {
  MessageCopy c;
  c.step(NudgeStep::Reminder).push_title = "Reminder {{name}}";
  c.by_category[{FailureCategory::AuthenticationRequired, NudgeStep::First}] = {"", "", "3ds"};
  CHECK(copy_from_json(copy_to_json(c)) == c);

  // Saved before copy per step: the creator changed the DM, the push texts are the old defaults.
  auto stored = nlohmann::json::parse(R"({"incentive_days": 5,
    "push_title": "Your {{product}} payment didn't go through",
    "push_content": "Hi {{name}}, we couldn't renew your {{product}} membership ({{amount}}). Update your card to keep your access: {{manage_url}}",
    "dm_content": "Yo {{name}}, fix your card: {{manage_url}}"})");
  upgrade_legacy_copy(stored);
  CHECK_FALSE(stored.contains("dm_content"));
  auto s = settings_from_json(stored);
  CHECK(s.incentive_days == 5);
  for (auto st : kNudgeSteps) {
    CHECK(s.copy.step(st).dm_content == "Yo {{name}}, fix your card: {{manage_url}}");
    CHECK(s.copy.step(st).push_title == MessageCopy().step(st).push_title);
  }
  // Already upgraded: left alone.
  auto again = stored;
  upgrade_legacy_copy(again);
  CHECK(again == stored);
}
