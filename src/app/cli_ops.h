#pragma once
// Operator commands (issue 5): backup FILE, restore FILE, check, member erase USER_ID,
// jobs list|retry ID|purge, events replay ID, rollup rebuild. cli.cpp registers them with
// add_ops_commands() and runs the one given with run_ops_command().
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/config.h"

namespace cs::app {

struct OpsCommands {
  CLI::App* backup = nullptr;
  CLI::App* restore = nullptr;
  CLI::App* check = nullptr;
  CLI::App* member_erase = nullptr;
  CLI::App* jobs_list = nullptr;
  CLI::App* jobs_retry = nullptr;
  CLI::App* jobs_purge = nullptr;
  CLI::App* events_replay = nullptr;
  CLI::App* rollup_rebuild = nullptr;

  std::string file;
  std::string user_id;
  int64_t id = 0;
  std::string state;
  int limit = 50;
  bool json = false;
  bool quick = false;
  int older_than_days = 7;
  bool dead = false;
};

/// Adds the commands to `cli`; `events` is the existing `events` command (replay goes under it);
/// `add_common` adds --db and --config.
void add_ops_commands(CLI::App& cli, CLI::App* events,
                      const std::function<void(CLI::App*)>& add_common, OpsCommands& o);
/// Runs the command that was given, returning its exit code; nullopt when none of them was.
std::optional<int> run_ops_command(const OpsCommands& o, const Config& c);

}  // namespace cs::app
