#pragma once
// The systemd notify protocol (sd_notify(3)) for `Type=notify` units. Every call is a no-op when
// the process was not started by systemd (no $NOTIFY_SOCKET), so `serve` behaves the same in a
// terminal.
#include <cstdint>
#include <string>

namespace cs::app::systemd {

/// READY=1 with a STATUS line: start-up (migrations, listen) is complete.
void notify_ready(const std::string& status);
/// STOPPING=1: shutdown began (graceful drain follows).
void notify_stopping();
/// WATCHDOG=1: the service is alive. Call only when every heartbeat is fresh.
void notify_watchdog();
/// STATUS=...: one line shown by `systemctl status`.
void notify_status(const std::string& status);
/// The watchdog interval systemd expects pings within (WatchdogSec=), in milliseconds; 0 when the
/// watchdog is off for this process.
int64_t watchdog_interval_ms();

}  // namespace cs::app::systemd
