#include "service/settings.h"

#include <nlohmann/json.hpp>

#include "store/jobs.h"
#include "store/settings.h"
#include "util/log.h"
#include "util/tz.h"

namespace cs::service {
namespace {

std::string settings_changed(const std::string& section, const nlohmann::json& fields) {
  return nlohmann::json{{"section", section}, {"fields", fields}}.dump();
}

/// Runs `write` on the writer; a failed write (the task threw, or the commit failed) becomes the
/// change's failure, so the caller answers without having saved anything.
Change commit(Context& ctx, const std::function<void(SQLite::Database&)>& write) {
  Change c;
  auto st = ctx.writer.run(write);
  if (!st) {
    log::error("a settings change was not saved", {{"error", st.error()}});
    c.failure = "The change could not be saved (the database refused it); nothing was changed.";
  }
  return c;
}

}  // namespace

domain::RecoverySettings stored_settings(Context& ctx) {
  auto db = ctx.reads->lease();
  return store::find_recovery_settings(*db, ctx.recovery_defaults);
}

store::RetentionSettings stored_retention(Context& ctx) {
  auto db = ctx.reads->lease();
  return store::find_retention(*db, ctx.retention_defaults);
}

Change save_recovery_settings(Context& ctx, const RecoveryInput& in) {
  auto before = stored_settings(ctx);
  auto settings = before;
  Change out;
  domain::FieldErrors& errors = out.errors;
  if (auto offsets = domain::parse_day_list(in.reminder_offsets_days)) {
    settings.reminder_offsets_days = *offsets;
  } else {
    errors["reminder_offsets_days"] = "Write whole days separated by commas, e.g. 0, 2, 4.";
  }
  if (auto incentive = domain::parse_whole_number(in.incentive_days)) {
    settings.incentive_days = *incentive;
  } else {
    errors["incentive_days"] = "Enter a whole number of days from 0 (off) to 30.";
  }
  if (auto window = domain::parse_whole_number(in.attribution_window_days)) {
    settings.attribution_window_days = *window;
  } else {
    errors["attribution_window_days"] = "Enter a whole number of days from 1 to 90.";
  }
  settings.push_enabled = in.push_enabled;
  settings.dm_enabled = in.dm_enabled;
  settings.processing_enabled = in.processing_enabled;
  settings.scheduler_enabled = in.scheduler_enabled;
  settings.notifications_enabled = in.notifications_enabled;
  for (const auto& [k, v] : domain::validate(settings)) errors.emplace(k, v);
  domain::Retention ret{domain::parse_whole_number(in.payload_retention_days).value_or(-1),
                        domain::parse_whole_number(in.event_retention_days).value_or(-1)};
  for (const auto& [k, v] : domain::validate(ret)) errors.emplace(k, v);
  if (!errors.empty()) return out;

  nlohmann::json changed = nlohmann::json::array();
  auto old_json = domain::to_json(before);
  auto new_json = domain::to_json(settings);
  for (auto it = new_json.begin(); it != new_json.end(); ++it) {
    if (old_json[it.key()] != it.value()) changed.push_back(it.key());
  }
  changed.push_back("retention");
  int64_t now = ctx.clock.now_ms();
  return commit(ctx, [&](SQLite::Database& db) {
    store::save_recovery_settings(db, settings, now);
    store::save_retention(db, {ret.payload_days, ret.event_days}, now);
    audit(db, now, "settings_changed", "recovery", settings_changed("recovery", changed));
  });
}

domain::FieldErrors message_errors(const domain::RecoverySettings& s) {
  domain::FieldErrors out;
  for (const auto& [k, v] : domain::validate_copy(s.copy)) out[k] = v;
  return out;
}

Change save_messages(Context& ctx, const domain::MessageCopy& copy) {
  auto settings = stored_settings(ctx);
  const auto before = settings.copy;
  settings.copy = copy;
  Change out;
  out.errors = message_errors(settings);
  if (!out.errors.empty()) return out;
  // The names of the pieces of copy that changed ("final.dm_content"), never their text.
  nlohmann::json changed = nlohmann::json::array();
  for (auto st : domain::kNudgeSteps) {
    for (const char* f : domain::kCopyFields) {
      if (domain::copy_field(before.step(st), f) != domain::copy_field(copy.step(st), f)) {
        changed.push_back(domain::copy_key(st, f));
      }
    }
  }
  for (auto cat : domain::kSpecificCategories) {
    for (auto st : domain::kNudgeSteps) {
      auto a = before.by_category.find({cat, st});
      auto b = copy.by_category.find({cat, st});
      for (const char* f : domain::kCopyFields) {
        std::string x = a == before.by_category.end() ? "" : domain::copy_field(a->second, f);
        std::string y = b == copy.by_category.end() ? "" : domain::copy_field(b->second, f);
        if (x != y) changed.push_back(domain::copy_key(cat, st, f));
      }
    }
  }
  int64_t now = ctx.clock.now_ms();
  return commit(ctx, [&](SQLite::Database& db) {
    store::save_recovery_settings(db, settings, now);
    audit(db, now, "settings_changed", "messages", settings_changed("messages", changed));
  });
}

Change save_connection(Context& ctx, const domain::ConnectionInput& in) {
  auto checked = domain::check_connection_input(in);
  Change out;
  out.errors = checked.errors;
  if (!out.errors.empty()) return out;
  const auto& v = checked.values;
  nlohmann::json changed = {"company_id", "experience_id", "public_url"};
  if (v.api_key) changed.push_back("api_key");
  if (v.webhook_secrets) changed.push_back("webhook_secrets");
  if (v.remove_api_key) changed.push_back("api_key_removed");
  if (v.remove_webhook_secrets) changed.push_back("webhook_secrets_removed");
  int64_t now = ctx.clock.now_ms();
  store::ConnectionSettings merged;
  std::string unreadable;
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    auto stored = store::find_connection(db, ctx.keys);
    if (!stored) {
      unreadable = stored.error();
      return;
    }
    store::StoredConnection next = *stored;
    if (v.api_key) next.api_key = v.api_key;
    if (v.webhook_secrets) next.webhook_secrets = v.webhook_secrets;
    if (v.remove_api_key) next.api_key.reset();
    if (v.remove_webhook_secrets) next.webhook_secrets.reset();
    next.company_id = v.company_id;
    next.experience_id = v.experience_id;
    next.public_url = v.public_url;
    store::save_connection(db, ctx.keys, next, now);
    audit(db, now, "settings_changed", "connection", settings_changed("connection", changed));
    merged = store::merge_connection(ctx.connection_defaults, next);
  });
  if (!st) {
    out.failure = "the connection could not be saved: " + st.error();
  } else if (!unreadable.empty()) {
    out.failure = unreadable;
  } else {
    if (ctx.connection_changed) ctx.connection_changed(merged);
    log::info("Whop connection changed on the dashboard");
    // Jobs that waited for an API key run now (after the client has the key).
    if (!merged.api_key.empty()) {
      int woken = 0;
      auto w = ctx.writer.run([&](SQLite::Database& db) {
        woken = store::wake_jobs_waiting_for_api_key(db, ctx.clock.now_ms());
      });
      if (!w) log::error("could not wake the jobs waiting for the API key", {{"error", w.error()}});
      if (woken > 0 && ctx.wake_jobs) ctx.wake_jobs();
    }
  }
  return out;
}

std::string stored_time_zone(Context& ctx) {
  std::optional<std::string> v;
  {
    auto db = ctx.reads->lease();
    v = store::find_setting(*db, "time_zone");
  }
  if (!v || !tz::find(*v)) return "UTC";
  return *v;
}

Change save_time_zone(Context& ctx, const std::string& name) {
  Change out;
  auto zone = tz::find(name);
  if (!zone) {
    out.errors["time_zone"] = zone.error();
    return out;
  }
  const int64_t now = ctx.clock.now_ms();
  return commit(ctx, [&](SQLite::Database& db) {
    store::save_setting(db, "time_zone", name, now);
    audit(db, now, "settings_changed", "display",
          settings_changed("display", nlohmann::json::array({"time_zone"})));
  });
}

}  // namespace cs::service
