#pragma once
// Structured logging: one JSON object per line on stderr (journald keeps it), with time, level,
// message, and fields. Never pass secrets, message text or personal data as fields.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cs::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

/// Sets the minimum level written (default Info). Thread-safe.
void set_level(Level level);
/// Parses "debug" | "info" | "warn" | "error"; Info otherwise.
Level level_from_name(std::string_view name);

/// Writes {"time": ISO-8601, "level", "msg", ...fields} as one line. Thread-safe.
void write(Level level, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json::object());

inline void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::Debug, m, f);
}
inline void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::Info, m, f);
}
inline void warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::Warn, m, f);
}
inline void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::Error, m, f);
}

}  // namespace cs::log
