#pragma once
// The `churn-saver` command line (CLI11): serve, version, migrate, cases, events, admin, and the
// operator commands of cli_ops.h (backup, restore, check, member erase, jobs, events replay).
namespace cs::app {

/// Runs the command line; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace cs::app
