#include "app/systemd.h"

#include <systemd/sd-daemon.h>

namespace cs::app::systemd {
namespace {

void notify(const std::string& state) {
  // unset_environment = 0: the watchdog thread keeps using $NOTIFY_SOCKET.
  sd_notify(0, state.c_str());
}

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

void notify_ready(const std::string& status) {
  notify("READY=1\nSTATUS=" + one_line(status));
}

void notify_stopping() {
  notify("STOPPING=1\nSTATUS=stopping: draining requests and jobs");
}

void notify_watchdog() {
  notify("WATCHDOG=1");
}

void notify_status(const std::string& status) {
  notify("STATUS=" + one_line(status));
}

int64_t watchdog_interval_ms() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return 0;
  return static_cast<int64_t>(usec / 1000);
}

}  // namespace cs::app::systemd
