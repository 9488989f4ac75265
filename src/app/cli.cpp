#include "app/cli.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

/// True while `serve` runs: its errors are log lines (JSON) like everything else it writes.
bool g_serving = false;

int fail(const std::string& message) {
  if (g_serving || log::stderr_is_journal()) {
    log::error(message);
  } else {
    std::cerr << "churn-saver: " << message << "\n";
  }
  return 1;
}

/// A command line that cannot be run as given: exit status 2, with where to read the usage.
int usage(const std::string& message, const std::string& command) {
  std::cerr << "churn-saver: " << message << "\n"
            << "Run `churn-saver" << (command.empty() ? "" : " " + command)
            << " --help` for the usage, or see churn-saver(8).\n";
  return 2;
}

/// "jobs list" for the deepest subcommand the parser reached ("" for none).
std::string command_path(const CLI::App& app) {
  std::string path;
  const CLI::App* at = &app;
  while (true) {
    auto subs = at->get_subcommands();
    if (subs.empty()) break;
    at = subs.front();
    path += (path.empty() ? "" : " ") + at->get_name();
  }
  return path;
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
  auto db = open_existing(c);
  if (!db) return fail(db.error());
  auto rows = store::list_recent_events(**db, limit);
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

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

/// `migrate status`: reads only; a missing file is reported (every migration pending), never
/// created.
int cmd_migrate_status(const Config& c, bool as_json) {
  const bool exists = file_exists(c.db_path);
  int have = 0;
  if (exists) {
    try {
      auto db = store::open_connection(c.db_path, store::ConnectionRole::Reader);
      have = store::schema_version(*db);
    } catch (const std::exception& e) {
      return fail("cannot open database " + c.db_path + ": " + e.what());
    }
  }
  const int want = store::binary_schema_version();
  if (as_json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : store::migrations()) {
      list.push_back({{"version", m.version}, {"name", m.name}, {"applied", m.version <= have}});
    }
    nlohmann::json out = {{"db", c.db_path},
                          {"exists", exists},
                          {"schema_version", have},
                          {"binary_schema_version", want},
                          {"pending", have < want ? want - have : 0},
                          {"newer_than_binary", have > want},
                          {"migrations", list}};
    std::cout << out.dump() << "\n";
    return have > want ? 1 : 0;
  }
  std::printf("database %s: schema version %d; this binary knows %d", c.db_path.c_str(), have,
              want);
  if (have < want) std::printf(" (%d pending)", want - have);
  if (have > want) std::printf(" (database is NEWER than this binary)");
  std::printf("\n");
  if (!exists) {
    std::printf(
        "(no file there yet: `churn-saver migrate up` or `churn-saver serve` creates it)\n");
  }
  for (const auto& m : store::migrations()) {
    std::printf("  %s %s\n", m.version <= have ? "[x]" : "[ ]", m.name.c_str());
  }
  return have > want ? 1 : 0;
}

int cmd_migrate(const Config& c, const std::string& action, int steps, bool as_json) {
  if (action == "status") return cmd_migrate_status(c, as_json);
  if (action == "down" && steps < 1) {
    return usage("migrate down needs a number of steps, e.g. `migrate down 1`", "migrate");
  }
  if (action != "up" && !file_exists(c.db_path)) {
    return fail("no database at " + c.db_path + " (start `churn-saver serve` once, or pass --db)");
  }
  std::unique_ptr<SQLite::Database> db;
  try {
    db = store::open_connection(c.db_path, store::ConnectionRole::Writer);
  } catch (const std::exception& e) {
    return fail("cannot open database " + c.db_path + ": " + e.what());
  }
  Status st = Ok{};
  if (action == "up") st = store::migrate_up(*db);
  if (action == "down") st = store::migrate_down(*db, steps);
  if (action == "verify") st = store::verify_schema(*db);
  if (!st) return fail(st.error());
  std::printf("schema version %d\n", store::schema_version(*db));
  if (action == "verify") std::printf("schema verified\n");
  return 0;
}

/// Where a setup link is kept for the operator: beside the database, 0600 (like the keyring).
std::string setup_link_file(const Config& c) {
  return c.db_path + ".setup-link";
}

/// The address a browser on this machine (or at the far end of an SSH tunnel) opens.
struct LocalAddress {
  std::string base;    // "http://127.0.0.1:8080" or the public URL
  std::string tunnel;  // "ssh -N -L 8080:127.0.0.1:8080 YOU@YOUR-SERVER" ("" with a public URL)
};

LocalAddress local_address(const Config& c, int port, const std::string& public_url) {
  LocalAddress a;
  auto listen = http::parse_listen(c.listen);
  std::string host = listen ? listen->first : "127.0.0.1";
  if (port <= 0 && listen) port = listen->second;
  if (host == "0.0.0.0" || host == "::" || host.empty()) host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  std::string p = std::to_string(port);
  a.base = "http://" + host + ":" + p;
  if (!public_url.empty()) {
    a.base = public_url;
    while (!a.base.empty() && a.base.back() == '/') a.base.pop_back();
  } else {
    a.tunnel = "ssh -N -L " + p + ":" + host + ":" + p + " YOU@YOUR-SERVER";
  }
  return a;
}

/// Writes `link` to the setup-link file, readable by this user only (0600); "" or the problem.
std::string write_setup_link_file(const std::string& path, const std::string& link) {
  ::unlink(path.c_str());  // a fresh file: never reuse one another user could have opened
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return std::strerror(errno);
  std::string text = link + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  std::string problem = ok ? "" : std::strerror(errno);
  ::close(fd);
  return problem;
}

constexpr const char* kNewLinkHow =
    "restart churn-saver (a new link at every start until a password is set), or run "
    "`churn-saver admin setup-link` as the service's user";

/// On first start (no admin yet): a one-time setup link. The token is a password-equivalent, so
/// it never goes to the journal (which other local users may be allowed to read): it is written
/// to <db>.setup-link (0600, in the service's private state directory) and, when stdout is not
/// the journal (a terminal, a pipe), printed there as one JSON line. The log says where it is.
void announce_setup_link(App& app, const Config& c) {
  const std::string file = setup_link_file(c);
  auto token = app.create_setup_token();
  if (!token) {
    log::error("no setup link", {{"error", token.error()}});
    return;
  }
  if (token->empty()) {  // an admin exists: an old link file is of no use any more
    ::unlink(file.c_str());
    return;
  }
  auto addr = local_address(c, app.port(), app.connection().public_url);
  const std::string link = addr.base + "/setup/" + *token;
  const std::string problem = write_setup_link_file(file, link);
  nlohmann::json how = {{"valid_minutes", service::kSetupLinkMs / 60000},
                        {"new_link", kNewLinkHow}};
  if (!addr.tunnel.empty()) {
    how["from_a_laptop"] =
        "run `" + addr.tunnel + "` on the laptop, then open the link in its browser";
  }
  if (problem.empty()) how["file"] = file;
  const bool stdout_journal = log::fd_is_journal(1, std::getenv("JOURNAL_STREAM"));
  if (!stdout_journal) {
    nlohmann::json fields = how;
    fields["setup_link"] = link;
    std::string line = log::format(
        log::Level::Info, "no admin password is set yet: open the one-time setup link to choose it",
        fields);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  if (!problem.empty()) {
    log::error("cannot write the setup link file", {{"file", file}, {"error", problem}});
    if (stdout_journal) {
      log::error(
          "no admin password is set yet and the setup link could not be kept out of the journal: "
          "set the password with `churn-saver admin set-password` as the service's user");
    }
    return;
  }
  if (stdout_journal) {
    how["read_it"] = "sudo cat " + file;
    log::warn(
        "no admin password is set yet: the one-time setup link is in the file below, readable "
        "only by the service's user (kept out of the journal)",
        how);
  }
}

int cmd_setup_link(const Config& c) {
  auto db = open_existing(c);
  if (!db) return fail(db.error());
  service::Standalone services(std::move(*db));
  auto token = service::create_setup_token(services.ctx());
  if (!token) return fail(token.error());
  if (token->empty()) {
    return fail(
        "an admin password is already set; change it with `churn-saver admin set-password`");
  }
  auto addr = local_address(c, 0, c.public_url);
  const std::string link = addr.base + "/setup/" + *token;
  const std::string file = setup_link_file(c);
  std::printf("One-time setup link (valid %lld minutes):\n  %s\n",
              static_cast<long long>(service::kSetupLinkMs / 60000), link.c_str());
  if (!addr.tunnel.empty()) {
    std::printf("From a laptop: run `%s` there,\nthen open the link in the laptop's browser.\n",
                addr.tunnel.c_str());
  }
  if (auto problem = write_setup_link_file(file, link); problem.empty()) {
    std::printf("Also kept in %s (readable only by this user).\n", file.c_str());
  }
  return 0;
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
    st = service::save_admin_password(services.ctx(), pw);
  } catch (const std::exception& e) {
    st = Error{e.what()};
  }
  if (!st) return fail("cannot set the password in " + c.db_path + ": " + st.error());
  std::printf("Admin password set. Every dashboard session was signed out.\n");
  return 0;
}

int cmd_serve(const Config& c) {
  g_serving = true;
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
                                    {"url", local_address(c, app.port(), "").base + "/"},
                                    {"db", c.db_path}});
  announce_setup_link(app, c);
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
  cli.name("churn-saver");
  cli.require_subcommand(1);
  // Options a subcommand does not know are looked up on its parents, so --db and --config work
  // before or after the subcommand, and between `jobs` and `list`.
  cli.fallthrough();
  cli.footer(settings_help());
  cli.set_version_flag("--version",
                       std::string("churn-saver ") + CHURN_SAVER_VERSION + " (schema " +
                           std::to_string(store::binary_schema_version()) + ")",
                       "print the version and exit");
  Flags flags;
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("--db", flags.db, "SQLite database file (CHURN_SAVER_DB)");
    sub->add_option("--config", flags.config,
                    "config file of KEY=VALUE lines (CHURN_SAVER_CONFIG)");
  };
  add_common(&cli);

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
  bool mig_json = false;
  migrate->add_option("action", mig_action, "status | up | down N | verify")
      ->check(CLI::IsMember({"status", "up", "down", "verify"}));
  migrate->add_option("steps", mig_steps, "with down: how many migrations to undo")
      ->check(CLI::Range(1, 1000000000));
  migrate->add_flag("--json", mig_json, "with status: the versions and migrations as JSON");

  auto* cases = cli.add_subcommand("cases", "list recovery cases");
  add_common(cases);
  std::string case_status;
  bool cases_json = false;
  cases->add_option("--status", case_status, "open | recovered | lost | cancelled")
      ->check(CLI::IsMember({"open", "recovered", "lost", "cancelled"}));
  cases->add_flag("--json", cases_json, "one JSON object per line");

  auto* events = cli.add_subcommand("events", "list recent webhook events");
  add_common(events);
  int event_limit = 50;
  bool events_json = false;
  events->add_option("--limit", event_limit, "how many, newest first (default 50)")
      ->check(CLI::Range(1, 1000000000));
  events->add_flag("--json", events_json, "one JSON object per line");

  auto* admin = cli.add_subcommand("admin", "the dashboard's admin account");
  admin->require_subcommand(1);
  auto* set_password = admin->add_subcommand(
      "set-password", "set the admin password, read from standard input (signs everybody out)");
  add_common(set_password);
  auto* setup_link = admin->add_subcommand(
      "setup-link", "print a new one-time setup link (only while no admin password is set)");
  add_common(setup_link);

  // backup, restore, check, member erase, jobs list|retry|purge, events replay (issue 5).
  OpsCommands ops;
  add_ops_commands(cli, events, add_common, ops);

  // An unknown command word: name it and the commands there are (CLI11 would only say that a
  // subcommand is required).
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--db" || a == "--config") {
      ++i;
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    std::string known;
    bool found = false;
    for (const auto* sub : cli.get_subcommands([](const CLI::App*) { return true; })) {
      known += (known.empty() ? "" : ", ") + sub->get_name();
      if (sub->get_name() == a) found = true;
    }
    if (!found) return usage("unknown command \"" + a + "\" (commands: " + known + ")", "");
    break;
  }
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.exit(e);  // --help, --version
    return usage(e.what(), command_path(cli));
  }
  if (cli.got_subcommand("version")) {
    std::printf("churn-saver %s (schema %d)\n", CHURN_SAVER_VERSION,
                store::binary_schema_version());
    return 0;
  }
  if (migrate->parsed() && mig_json && mig_action != "status") {
    return usage("--json goes with `migrate status`", "migrate");
  }
  if (serve->parsed()) g_serving = true;  // errors from here on are log lines
  auto config = load_config(flags, [](const char* k) { return std::getenv(k); });
  if (!config) return fail(config.error());
  if (serve->parsed()) return cmd_serve(*config);
  if (migrate->parsed()) return cmd_migrate(*config, mig_action, mig_steps, mig_json);
  if (cases->parsed()) return cmd_cases(*config, case_status, cases_json);
  if (auto code = run_ops_command(ops, *config)) return *code;
  if (events->parsed()) return cmd_events(*config, event_limit, events_json);
  if (set_password->parsed()) return cmd_set_password(*config);
  if (setup_link->parsed()) return cmd_setup_link(*config);
  return 1;
}

}  // namespace cs::app
