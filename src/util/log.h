#pragma once
// Structured logging: one JSON object per line on stderr (journald keeps it), with time, level,
// message, and fields. Never pass secrets, message text or personal data as fields.
//
// When systemd connects stderr to the journal (JOURNAL_STREAM names stderr's device and inode,
// sd-daemon(3)), each line starts with its syslog priority, "<3>" error, "<4>" warning, "<6>" info,
// "<7>" debug, which journald strips and stores as the entry's priority (so
// `journalctl -p warning` filters); elsewhere each line is plain JSON.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cs::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

/// Sets the minimum level written (default Info). Thread-safe.
void set_level(Level level);
/// True when lines of `level` are written: callers test it before building fields for a level
/// that is usually off (a debug line per webhook).
bool enabled(Level level);
/// Parses "debug" | "info" | "warn" | "error"; Info otherwise.
Level level_from_name(std::string_view name);
/// The syslog priority of a level (SD_DEBUG 7, SD_INFO 6, SD_WARNING 4, SD_ERR 3).
int syslog_priority(Level level);

/// True when `fd` is the stream systemd connected to the journal: the environment's
/// JOURNAL_STREAM ("DEVICE:INODE") matches fstat(fd) (sd-daemon(3)).
bool fd_is_journal(int fd, const char* journal_stream);
/// fd_is_journal(2, getenv("JOURNAL_STREAM")), read once at the first log line.
bool stderr_is_journal();

/// {"time": ISO-8601, "level", "msg", ...fields} as one line of JSON (no newline, no prefix).
std::string format(Level level, std::string_view msg,
                   const nlohmann::json& fields = nlohmann::json::object());

/// Writes format(...) as one line on stderr, with the priority prefix when stderr is the journal.
/// Thread-safe.
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
