#pragma once
// Settings services: the recovery settings with retention, the message templates and the Whop
// connection. Each validates (src/domain/), saves and audits ("settings_changed", the section and
// the names of the changed fields, never their values) in one transaction.
#include <string>

#include "domain/setting_rules.h"
#include "domain/settings.h"
#include "service/context.h"

namespace cs::service {

/// The answer of a service that changes something a person typed.
struct Change {
  domain::FieldErrors errors;  // input a person must fix; nothing was written
  std::string failure;         // the database refused the write; nothing was written
  bool saved() const { return errors.empty() && failure.empty(); }
};

/// The recovery form as typed: numbers as text, switches as booleans.
struct RecoveryInput {
  std::string reminder_offsets_days;
  std::string incentive_days;
  std::string attribution_window_days;
  std::string payload_retention_days;
  std::string event_retention_days;
  bool push_enabled = false, dm_enabled = false;
  bool processing_enabled = false, scheduler_enabled = false, notifications_enabled = false;
};

/// The recovery settings as stored over the configured defaults (no environment kill switches).
domain::RecoverySettings stored_settings(Context& ctx);
/// The retention as stored over the configured defaults.
store::RetentionSettings stored_retention(Context& ctx);

/// Validates the whole form (domain::validate for the settings, domain::validate for retention),
/// then saves settings, retention and the audit row together.
Change save_recovery_settings(Context& ctx, const RecoveryInput& in);

/// The errors of the copy only (what the messages page shows), keyed like "final.dm_content".
domain::FieldErrors message_errors(const domain::RecoverySettings& s);
/// Replaces all the copy (steps and categories); validated, saved and audited (the keys of the
/// pieces that changed) together.
Change save_messages(Context& ctx, const domain::MessageCopy& copy);

/// The display time zone saved on the settings page (an IANA name; "UTC" when none is saved or
/// the saved one is no longer on this system).
std::string stored_time_zone(Context& ctx);
/// Validates (the zone must exist in the system's tz database) and saves the display time zone,
/// audited. The error is keyed "time_zone".
Change save_time_zone(Context& ctx, const std::string& name);

/// Checks, seals and stores the connection, audits it, then (once committed) applies it through
/// ctx.connection_changed. Blank secret fields keep the stored secrets.
Change save_connection(Context& ctx, const domain::ConnectionInput& in);

}  // namespace cs::service
