#include "app/cli.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "app/backup.h"
#include "app/cli_ops.h"
#include "app/systemd.h"
#include "domain/money.h"
#include "domain/time.h"
#include "service/accounts.h"
#include "store/auth.h"
#include "store/cases.h"
#include "store/db.h"
#include "store/events.h"
#include "store/migrations.h"
#include "util/log.h"
#include "util/password.h"

namespace cs::app {
namespace {

int fail(const std::string& message) {
  std::cerr << "churn-saver: " << message << "\n";
  return 1;
}

nlohmann::json time_or_null(const std::optional<int64_t>& ms) {
  if (!ms) return nullptr;
  return domain::format_iso8601_ms(*ms);
}

/// Opens the database for a command that reads it; refuses a missing, uninitialised or newer one.
Result<std::unique_ptr<SQLite::Database>> open_existing(const Config& c) {
  struct stat st {};
  if (::stat(c.db_path.c_str(), &st) != 0) {
    return Error{"no database at " + c.db_path + " (start `churn-saver serve` once, or pass --db)"};
  }
  try {
    auto db = store::open_connection(c.db_path, store::ConnectionRole::Writer);
    if (auto s = store::check_not_newer(*db); !s) return Error{s.error()};
    if (store::schema_version(*db) == 0) {
      return Error{"database " + c.db_path + " is not initialised (run `churn-saver migrate up`)"};
    }
    return db;
  } catch (const std::exception& e) {
    return Error{"cannot open database " + c.db_path + ": " + e.what()};
  }
}

nlohmann::json case_json(const store::CaseRow& c) {
  return {{"id", c.id},
          {"membership_id", c.membership_id},
          {"user_id", c.user_id},
          {"username", c.username},
          {"product_id", c.product_id},
          {"status", domain::status_name(c.status)},
          {"resolution", domain::resolution_name(c.resolution)},
          {"first_failure_at", domain::format_iso8601_ms(c.first_failure_at)},
          {"last_failure_at", domain::format_iso8601_ms(c.last_failure_at)},
          {"failures", c.failures},
          {"amount_due_cents", c.amount_due_cents},
          {"currency", c.currency},
          {"failure_message", c.failure_message},
          {"resolved_at", time_or_null(c.resolved_at)},
          {"recovered_cents", c.recovered_cents},
          {"recovery_payment_id", c.recovery_payment_id},
          {"refunded_cents", c.refunded_cents},
          {"cancelled_at", time_or_null(c.cancelled_at)},
          {"created_at", domain::format_iso8601_ms(c.created_at)},
          {"updated_at", domain::format_iso8601_ms(c.updated_at)}};
}

nlohmann::json event_json(const store::EventRow& e) {
  nlohmann::json amount = nullptr;
  if (e.amount_cents) amount = *e.amount_cents;
  return {{"id", e.id},
          {"webhook_id", e.webhook_id},
          {"source", e.source},
          {"type", e.type},
          {"api_version", e.api_version},
          {"signature", e.sig_scheme},
          {"event_time", domain::format_iso8601_ms(e.event_time)},
          {"received_at", domain::format_iso8601_ms(e.received_at)},
          {"membership_id", e.membership_id},
          {"payment_id", e.payment_id},
          {"user_id", e.user_id},
          {"amount_cents", amount},
          {"currency", e.currency},
          {"process_state", e.process_state},
          {"process_note", e.process_note},
          {"processed_at", time_or_null(e.processed_at)}};
}

int cmd_cases(const Config& c, const std::string& status, bool as_json) {
  if (!status.empty() && !domain::status_from_name(status)) {
    return fail("unknown status \"" + status + "\" (open, recovered, lost, cancelled)");
  }
  auto db = open_existing(c);
  if (!db) return fail(db.error());
  store::CaseFilter f;
  if (!status.empty()) f.status = domain::status_from_name(status);
  f.limit = 1000000;
  auto rows = store::list_cases(**db, f);
  if (as_json) {
    for (const auto& r : rows) std::cout << case_json(r).dump() << "\n";
    return 0;
  }
  std::printf("%-32s  %-10s  %-24s  %-20s  %12s  %12s\n", "CASE", "STATUS", "FIRST FAILURE",
              "MEMBERSHIP", "DUE", "RECOVERED");
  for (const auto& r : rows) {
    std::printf("%-32s  %-10s  %-24s  %-20s  %12s  %12s\n", r.id.c_str(),
                domain::status_name(r.status),
                domain::format_iso8601_ms(r.first_failure_at).c_str(), r.membership_id.c_str(),
                domain::format_money(r.amount_due_cents, r.currency).c_str(),
                domain::format_money(r.recovered_cents, r.currency).c_str());
  }
  std::printf("%zu case(s)\n", rows.size());
  return 0;
}

int cmd_events(const Config& c, int limit, bool as_json) {
  if (limit < 1) return fail("--limit must be at least 1");
  auto db = open_existing(c);
  if (!db) return fail(db.error());
  auto rows = store::recent_events(**db, limit);
  if (as_json) {
    for (const auto& r : rows) std::cout << event_json(r).dump() << "\n";
    return 0;
  }
  std::printf("%-8s  %-30s  %-36s  %-24s  %-10s\n", "ID", "WEBHOOK-ID", "TYPE", "EVENT TIME",
              "STATE");
  for (const auto& r : rows) {
    std::printf("%-8lld  %-30s  %-36s  %-24s  %-10s\n", static_cast<long long>(r.id),
                r.webhook_id.c_str(), r.type.c_str(),
                domain::format_iso8601_ms(r.event_time).c_str(), r.process_state.c_str());
  }
  return 0;
}

int cmd_migrate(const Config& c, const std::string& action, int steps) {
  std::unique_ptr<SQLite::Database> db;
  try {
    db = store::open_connection(c.db_path, store::ConnectionRole::Writer);
  } catch (const std::exception& e) {
    return fail("cannot open database " + c.db_path + ": " + e.what());
  }
  int have = store::schema_version(*db);
  int want = store::binary_schema_version();
  if (action == "status") {
    std::printf("database %s: schema version %d; this binary knows %d", c.db_path.c_str(), have,
                want);
    if (have < want) std::printf(" (%d pending)", want - have);
    if (have > want) std::printf(" (database is NEWER than this binary)");
    std::printf("\n");
    for (const auto& m : store::migrations()) {
      std::printf("  %s %s\n", m.version <= have ? "[x]" : "[ ]", m.name.c_str());
    }
    return have > want ? 1 : 0;
  }
  Status st = Ok{};
  if (action == "up") st = store::migrate_up(*db);
  if (action == "down") {
    if (steps < 1) return fail("migrate down needs a number of steps, e.g. `migrate down 1`");
    st = store::migrate_down(*db, steps);
  }
  if (action == "verify") st = store::verify_schema(*db);
  if (!st) return fail(st.error());
  std::printf("schema version %d\n", store::schema_version(*db));
  if (action == "verify") std::printf("schema verified\n");
  return 0;
}

/// On first start (no admin yet): prints the one-time setup link. On stdout, never in the logs.
void print_setup_link(App& app, const Config& c) {
  auto token = app.create_setup_token();
  if (!token) {
    log::error("no setup link", {{"error", token.error()}});
    return;
  }
  if (token->empty()) return;
  std::string host = http::parse_listen(c.listen)->first;
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  std::string base = "http://" + host + ":" + std::to_string(app.port());
  std::string pub = app.connection().public_url;
  if (!pub.empty()) base = pub;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::printf(
      "\nNo admin password is set yet. Open this one-time link within 30 minutes to choose it:\n"
      "  %s/setup/%s\n"
      "(or run `churn-saver admin set-password` and type the password on standard input)\n\n",
      base.c_str(), token->c_str());
}

/// Reads one line (the password) from stdin, without echo on a terminal.
std::string read_password_line() {
  bool tty = isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::fprintf(stderr, "New admin password (at least %zu characters): ", password::kMinLength);
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

int cmd_set_password(const Config& c) {
  std::string pw = read_password_line();
  if (auto problem = password::check_strength(pw); !problem.empty()) return fail(problem);
  Status st = Ok{};
  try {
    auto db = store::open_connection(c.db_path, store::ConnectionRole::Writer);
    if (auto mig = store::migrate_up(*db); !mig) return fail(mig.error());
    service::Standalone services(std::move(db));
    st = service::set_admin_password(services.ctx(), pw);
  } catch (const std::exception& e) {
    st = Error{e.what()};
  }
  if (!st) return fail("cannot set the password in " + c.db_path + ": " + st.error());
  std::printf("Admin password set. Every dashboard session was signed out.\n");
  return 0;
}

int cmd_serve(const Config& c) {
  log::set_level(log::level_from_name(c.log_level));
  // Block the stop signals in every thread; one thread waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  SystemClock clock;
  // One serve per database; `restore` refuses while this lock is held (issue 5).
  auto lock = DatabaseLock::acquire(c.db_path);
  if (!lock) return fail(lock.error());
  App app(c, clock);
  if (auto st = app.start(); !st) return fail(st.error());
  // Migrated and listening: tell systemd (Type=notify) before anything slower.
  systemd::notify_ready("serving on " + c.listen + " (port " + std::to_string(app.port()) + ")");
  log::info("churn-saver started", {{"version", CHURN_SAVER_VERSION},
                                    {"listen", c.listen},
                                    {"port", app.port()},
                                    {"db", c.db_path}});
  std::printf("Churn Saver %s listening on http://%s:%d/\n", CHURN_SAVER_VERSION,
              http::parse_listen(c.listen)->first.c_str(), app.port());
  print_setup_link(app, c);
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != 0) {
      log::info("stopping", {{"signal", sig}});
      systemd::notify_stopping();
    }
    app.stop();  // drains: requests in flight, then jobs, then queued writes
  });
  app.serve();
  // serve() also returns if the listener fails; make sure the waiter can finish.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  app.stop();
  log::info("churn-saver stopped");
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App cli{"Churn Saver: failed-payment recovery for Whop creators"};
  cli.require_subcommand(1);
  cli.footer(settings_help());
  Flags flags;
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("--db", flags.db, "SQLite database file (CHURN_SAVER_DB)");
    sub->add_option("--config", flags.config,
                    "config file of KEY=VALUE lines (CHURN_SAVER_CONFIG)");
  };

  auto* serve = cli.add_subcommand("serve", "serve webhooks and the dashboard");
  serve->footer(settings_help());
  add_common(serve);
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (CHURN_SAVER_LISTEN)");
  serve->add_option(
      "--scheduler-interval", flags.scheduler_interval,
      "seconds between scheduler passes (CHURN_SAVER_SCHEDULER_INTERVAL, default 60)");

  cli.add_subcommand("version", "print the version");

  auto* migrate = cli.add_subcommand("migrate", "database schema migrations");
  add_common(migrate);
  std::string mig_action = "status";
  int mig_steps = 0;
  migrate->add_option("action", mig_action, "status | up | down N | verify")
      ->check(CLI::IsMember({"status", "up", "down", "verify"}));
  migrate->add_option("steps", mig_steps, "with down: how many migrations to undo");

  auto* cases = cli.add_subcommand("cases", "list recovery cases");
  add_common(cases);
  std::string case_status;
  bool cases_json = false;
  cases->add_option("--status", case_status, "open | recovered | lost | cancelled");
  cases->add_flag("--json", cases_json, "one JSON object per line");

  auto* events = cli.add_subcommand("events", "list recent webhook events");
  add_common(events);
  int event_limit = 50;
  bool events_json = false;
  events->add_option("--limit", event_limit, "how many, newest first (default 50)");
  events->add_flag("--json", events_json, "one JSON object per line");

  auto* admin = cli.add_subcommand("admin", "the dashboard's admin account");
  admin->require_subcommand(1);
  auto* set_password = admin->add_subcommand(
      "set-password", "set the admin password, read from standard input (signs everybody out)");
  add_common(set_password);

  // backup, restore, check, member erase, jobs list|retry|purge, events replay (issue 5).
  OpsCommands ops;
  add_ops_commands(cli, events, add_common, ops);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (cli.got_subcommand("version")) {
    std::printf("churn-saver %s (schema %d)\n", CHURN_SAVER_VERSION,
                store::binary_schema_version());
    return 0;
  }
  auto config = load_config(flags, [](const char* k) { return std::getenv(k); });
  if (!config) return fail(config.error());
  if (serve->parsed()) return cmd_serve(*config);
  if (migrate->parsed()) return cmd_migrate(*config, mig_action, mig_steps);
  if (cases->parsed()) return cmd_cases(*config, case_status, cases_json);
  if (auto code = run_ops_command(ops, *config)) return *code;
  if (events->parsed()) return cmd_events(*config, event_limit, events_json);
  if (set_password->parsed()) return cmd_set_password(*config);
  return 1;
}

}  // namespace cs::app
