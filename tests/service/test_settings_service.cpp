// The settings services without HTTP: one rule per field, and each change committed together
// with its audit row or not at all.
#include <doctest/doctest.h>

#include "service/settings.h"
#include "service_env.h"
#include "store/connection.h"

#include <SQLiteCpp/Statement.h>

using namespace cs;

namespace {

service::RecoveryInput valid_input() {
  service::RecoveryInput in;
  in.reminder_offsets_days = "0, 1, 3, 5";
  in.incentive_days = "7";
  in.attribution_window_days = "10";
  in.payload_retention_days = "20";
  in.event_retention_days = "40";
  in.dm_enabled = true;
  in.processing_enabled = true;
  in.scheduler_enabled = true;
  return in;
}

}  // namespace

TEST_CASE("settings service: a setting change and its audit row commit together or not at all") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  auto before = service::stored_settings(ctx);

  env.refuse_audit(true);
  auto refused = service::save_recovery_settings(ctx, valid_input());
  CHECK_FALSE(refused.saved());
  CHECK(refused.errors.empty());
  CHECK(refused.failure.find("nothing was changed") != std::string::npos);
  // Neither the settings, nor the retention, nor an audit row.
  CHECK(service::stored_settings(ctx).incentive_days == before.incentive_days);
  CHECK(service::stored_settings(ctx).reminder_offsets_days == before.reminder_offsets_days);
  CHECK(service::stored_retention(ctx).payload_days == 30);
  CHECK(env.audit_rows().empty());

  env.refuse_audit(false);
  auto saved = service::save_recovery_settings(ctx, valid_input());
  CHECK(saved.saved());
  auto after = service::stored_settings(ctx);
  CHECK(after.incentive_days == 7);
  CHECK(after.reminder_offsets_days == std::vector<int>{0, 1, 3, 5});
  CHECK_FALSE(after.push_enabled);
  CHECK(service::stored_retention(ctx).payload_days == 20);
  CHECK(service::stored_retention(ctx).event_days == 40);
  CHECK(env.audit_rows() == std::vector<std::string>{"settings_changed recovery"});
}

TEST_CASE("settings service: messages and connection are audited in the same transaction") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  int applied = 0;
  ctx.connection_changed = [&](const store::ConnectionSettings& c) {
    ++applied;
    CHECK(c.company_id == "biz_123");
  };
  domain::MessageCopy t;
  t.step(domain::NudgeStep::First).push_title = "Hi {{name}}";
  domain::ConnectionInput conn{"key_abc", "ws_one, ws_two", "biz_123", "",
                               "https://cs.example.com/"};

  env.refuse_audit(true);
  CHECK_FALSE(service::save_messages(ctx, t).saved());
  CHECK(service::stored_settings(ctx).copy.step(domain::NudgeStep::First).push_title !=
        "Hi {{name}}");
  auto refused = service::save_connection(ctx, conn);
  CHECK_FALSE(refused.failure.empty());
  CHECK(applied == 0);  // nothing committed, nothing applied
  {
    auto db = env.reads->lease();
    auto stored = store::find_connection(*db, env.keys);
    REQUIRE(stored);
    CHECK_FALSE(stored->company_id.has_value());
  }
  CHECK(env.audit_rows().empty());

  env.refuse_audit(false);
  CHECK(service::save_messages(ctx, t).saved());
  CHECK(service::stored_settings(ctx).copy.step(domain::NudgeStep::First).push_title ==
        "Hi {{name}}");
  CHECK(service::save_connection(ctx, conn).saved());
  CHECK(applied == 1);
  {
    auto db = env.reads->lease();
    auto stored = store::find_connection(*db, env.keys);
    REQUIRE(stored);
    CHECK(stored->public_url == "https://cs.example.com");
    CHECK(stored->webhook_secrets == std::vector<std::string>{"ws_one", "ws_two"});
  }
  CHECK(env.audit_rows() ==
        std::vector<std::string>{"settings_changed messages", "settings_changed connection"});
}

TEST_CASE("settings service: invalid input is refused field by field and nothing is written") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  auto in = valid_input();
  in.reminder_offsets_days = "0, 4, 2";
  in.incentive_days = "45";
  in.attribution_window_days = "two";
  auto out = service::save_recovery_settings(ctx, in);
  CHECK(out.errors.count("reminder_offsets_days") == 1);
  CHECK(out.errors.count("incentive_days") == 1);
  CHECK(out.errors.at("attribution_window_days") == "Enter a whole number of days from 1 to 90.");
  CHECK(service::stored_settings(ctx).incentive_days == 3);
  CHECK(env.audit_rows().empty());

  auto bad_conn = service::save_connection(ctx, {"a key", "", "company", "exp_1", "ftp://x"});
  CHECK(bad_conn.errors.count("api_key") == 1);
  CHECK(bad_conn.errors.count("company_id") == 1);
  CHECK(bad_conn.errors.count("public_url") == 1);
  CHECK(bad_conn.errors.count("experience_id") == 0);
  CHECK(env.audit_rows().empty());
}

TEST_CASE("settings service: retention is 1 to 3650 days, events kept as long as payloads") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  auto in = valid_input();
  in.payload_retention_days = "730";  // the configuration allows it; the page must too
  in.event_retention_days = "3650";
  CHECK(service::save_recovery_settings(ctx, in).saved());
  CHECK(service::stored_retention(ctx).payload_days == 730);

  in.payload_retention_days = "0";
  in.event_retention_days = "3651";
  auto out = service::save_recovery_settings(ctx, in);
  CHECK(out.errors.at("payload_retention_days") == "Enter a whole number of days from 1 to 3650.");
  CHECK(out.errors.at("event_retention_days") == "Enter a whole number of days from 1 to 3650.");

  in.payload_retention_days = "90";
  in.event_retention_days = "60";
  out = service::save_recovery_settings(ctx, in);
  CHECK(out.errors.at("event_retention_days") ==
        "Keep events at least as long as their payloads (90 days).");
  CHECK(service::stored_retention(ctx).payload_days == 730);
}

TEST_CASE(
    "settings service: copy per step and failure kind is saved with one audit row naming "
    "what changed, never the words") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  domain::MessageCopy c;
  c.step(domain::NudgeStep::Final).dm_content = "Last call {{name}}, by {{deadline}}";
  c.by_category[{domain::FailureCategory::ExpiredCard, domain::NudgeStep::First}] = {
      "", "", "Your card expired, {{name}}"};
  REQUIRE(service::save_messages(ctx, c).saved());
  CHECK(service::stored_settings(ctx).copy == c);
  CHECK(env.audit_rows() == std::vector<std::string>{"settings_changed messages"});
  {
    auto db = env.reads->lease();
    SQLite::Statement q(*db, "SELECT metadata FROM recovery_actions WHERE case_id IS NULL");
    REQUIRE(q.executeStep());
    std::string meta = q.getColumn(0).getString();
    CHECK(meta.find("final.dm_content") != std::string::npos);
    CHECK(meta.find("expired_card.first.dm_content") != std::string::npos);
    CHECK(meta.find("first.push_title") == std::string::npos);
    CHECK(meta.find("Last call") == std::string::npos);
  }
  // Invalid copy: nothing written, no audit row.
  c.by_category[{domain::FailureCategory::Declined, domain::NudgeStep::Final}] = {"{{nope}}", "",
                                                                                  ""};
  auto refused = service::save_messages(ctx, c);
  CHECK(refused.errors.count("declined.final.push_title") == 1);
  CHECK(service::stored_settings(ctx).copy.by_category.size() == 1);
  CHECK(env.audit_rows().size() == 1);
}

TEST_CASE("settings service: templates saved before copy per step are kept for every step") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  // As an older version stored them: three top-level templates, the push title edited.
  auto st = env.writer->run([](SQLite::Database& db) {
    db.exec(
        "INSERT INTO settings (key, value, updated_at) VALUES ('recovery', "
        "'{\"incentive_days\":7,\"push_title\":\"Psst {{name}}\",\"push_content\":\"Hi "
        "{{name}}, we couldn''t renew your {{product}} membership ({{amount}}). Update your card "
        "to keep your access: {{manage_url}}\",\"dm_content\":\"Custom DM {{manage_url}}\"}', 1)");
  });
  REQUIRE(st);
  auto s = service::stored_settings(ctx);
  CHECK(s.incentive_days == 7);
  domain::MessageCopy defaults;
  for (auto step : domain::kNudgeSteps) {
    CHECK(s.copy.step(step).push_title == "Psst {{name}}");
    CHECK(s.copy.step(step).dm_content == "Custom DM {{manage_url}}");
    // The old default push text was never edited: the new step default takes its place.
    CHECK(s.copy.step(step).push_content == defaults.step(step).push_content);
  }
  // Saving something else keeps them, now in the new shape.
  REQUIRE(service::save_messages(ctx, s.copy).saved());
  CHECK(service::stored_settings(ctx).copy == s.copy);
}
