#include "app/cli_ops.h"

#include <sys/stat.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/backup.h"
#include "domain/time.h"
#include "service/queue.h"
#include "store/cases.h"
#include "store/db.h"
#include "store/events.h"
#include "store/jobs.h"
#include "store/maintenance.h"
#include "store/migrations.h"
#include "store/rollup.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/log.h"

namespace cs::app {
namespace {

int fail(const std::string& message) {
  if (log::stderr_is_journal()) {
    log::error(message);
  } else {
    std::cerr << "churn-saver: " << message << "\n";
  }
  return 1;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string missing_db(const Config& c) {
  return "no database at " + c.db_path + " (start `churn-saver serve` once, or pass --db)";
}

/// A maintenance connection to an existing database this binary understands.
Result<std::unique_ptr<SQLite::Database>> open_checked(const Config& c) {
  if (!exists(c.db_path)) return Error{missing_db(c)};
  try {
    auto db = store::open_for_maintenance(c.db_path);
    if (auto st = store::check_not_newer(*db); !st) return Error{st.error()};
    if (store::schema_version(*db) == 0) {
      return Error{"database " + c.db_path + " is not initialised (run `churn-saver migrate up`)"};
    }
    return db;
  } catch (const std::exception& e) {
    return Error{"cannot open database " + c.db_path + ": " + e.what()};
  }
}

int cmd_backup(const Config& c, const std::string& file) {
  ::umask(0077);
  auto r = backup_database(c.db_path, file);
  if (!r) return fail(r.error());
  std::printf(
      "Backup written to %s (%lld bytes, checked: integrity and foreign keys ok) in %lld ms.\n",
      r->file.c_str(), static_cast<long long>(r->bytes), static_cast<long long>(r->millis));
  std::printf(
      "Keep the keyring %s with your backups too (it is not inside the backup; without it the\n"
      "stored webhook bodies cannot be decrypted). Treat it as a secret.\n",
      c.key_file.c_str());
  return 0;
}

/// Warns when the restored database holds payloads sealed with a key the keyring lacks.
void check_keyring(const Config& c) {
  if (!exists(c.key_file)) {
    std::printf(
        "No keyring at %s: put the keyring that belongs to this database there before "
        "starting (without it, stored webhook bodies cannot be decrypted).\n",
        c.key_file.c_str());
    return;
  }
  auto keys = crypto::load_or_create_keyring(c.key_file);
  if (!keys) {
    std::printf("Warning: %s\n", keys.error().c_str());
    return;
  }
  try {
    auto db = store::open_for_maintenance(c.db_path);
    auto blob = store::find_newest_sealed_payload(*db);
    if (!blob) return;
    auto id = crypto::sealed_key_id(*blob);
    if (id && !keys->find(*id)) {
      std::printf(
          "Warning: the restored data is sealed with key %u, which the keyring %s does "
          "not hold: restore the keyring from the same backup.\n",
          *id, c.key_file.c_str());
    }
  } catch (const std::exception&) {
  }
}

int cmd_restore(const Config& c, const std::string& file) {
  ::umask(0077);
  auto r = restore_database(file, c.db_path, SystemClock().now_ms());
  if (!r) return fail(r.error());
  std::printf("Restored %s from %s (schema version %d, checked).\n", c.db_path.c_str(),
              file.c_str(), r->schema_version);
  if (!r->previous.empty()) {
    std::printf("The database it replaced is kept as %s (delete it when you are sure).\n",
                r->previous.c_str());
  }
  if (r->schema_version < store::binary_schema_version()) {
    std::printf("serve migrates it from schema %d to %d when it starts.\n", r->schema_version,
                store::binary_schema_version());
  }
  check_keyring(c);
  std::printf("Start the service again, e.g. `sudo systemctl start churn-saver`.\n");
  return 0;
}

int cmd_check(const Config& c, bool quick) {
  auto db = open_checked(c);
  if (!db) return fail(db.error());
  try {
    auto report = store::check_database(**db, quick);
    for (const auto& p : report.problems) std::printf("problem: %s\n", p.c_str());
    auto schema = store::verify_schema(**db);
    if (!schema) std::printf("problem: %s\n", schema.error().c_str());
    if (!report.ok || !schema) {
      std::printf(
          "%s: NOT OK. Stop the service and restore the last good backup with `churn-saver "
          "restore FILE`.\n",
          c.db_path.c_str());
      return 1;
    }
    std::printf("%s: ok (%s ok, foreign_key_check ok, schema version %d verified)\n",
                c.db_path.c_str(), quick ? "quick_check" : "integrity_check",
                store::schema_version(**db));
    return 0;
  } catch (const std::exception& e) {
    return fail("check failed: " + std::string(e.what()));
  }
}

int cmd_member_erase(const Config& c, const std::string& user_id) {
  auto db = open_checked(c);
  if (!db) return fail(db.error());
  try {
    // Deleted bytes are overwritten, in the database file and in the WAL frames written now.
    store::overwrite_deleted_bytes(**db);
    auto r = store::erase_member(**db, user_id, SystemClock().now_ms());
    // Old versions of rows that were updated before (cases are rewritten as they progress) can
    // remain in free space inside pages; VACUUM rewrites every page, then the WAL is truncated.
    store::vacuum(**db);
    bool truncated = store::checkpoint_truncate(**db, 50);
    std::printf(
        "Member %s erased: %lld event(s) deleted, %lld case(s) anonymised (%lld cancelled), %lld "
        "job(s) deleted, %lld action(s) scrubbed.\n",
        user_id.c_str(), static_cast<long long>(r.events_deleted),
        static_cast<long long>(r.cases_anonymised), static_cast<long long>(r.cases_cancelled),
        static_cast<long long>(r.jobs_deleted), static_cast<long long>(r.actions_scrubbed));
    std::printf(
        "Backups made before now still hold the member's data until they are rotated "
        "out.\n");
    if (!truncated) {
      std::fprintf(stderr,
                   "churn-saver: the write-ahead log could not be truncated while the service "
                   "was reading; run the command again (it is safe to repeat)\n");
      return 3;
    }
    return 0;
  } catch (const std::exception& e) {
    return fail("erase failed (nothing was changed): " + std::string(e.what()));
  }
}

nlohmann::json job_json(const store::Job& j) {
  return {{"id", j.id},
          {"kind", j.kind},
          {"state", j.state},
          {"attempts", j.attempts},
          {"max_attempts", j.max_attempts},
          {"run_at", domain::format_iso8601_ms(j.run_at)},
          {"last_error", j.last_error},
          {"created_at", domain::format_iso8601_ms(j.created_at)},
          {"updated_at", domain::format_iso8601_ms(j.updated_at)}};
}

int cmd_jobs_list(const Config& c, const std::string& state, int limit, bool as_json) {
  auto db = open_checked(c);
  if (!db) return fail(db.error());
  auto rows = store::list_jobs(**db, state, limit);
  if (as_json) {
    for (const auto& r : rows) std::cout << job_json(r).dump() << "\n";
    return 0;
  }
  auto counts = store::count_jobs_by_state(**db);
  std::printf("queued %lld, running %lld, failed %lld, dead %lld, done %lld\n",
              static_cast<long long>(counts["queued"]), static_cast<long long>(counts["running"]),
              static_cast<long long>(counts["failed"]), static_cast<long long>(counts["dead"]),
              static_cast<long long>(counts["done"]));
  std::printf("%-8s  %-16s  %-8s  %-8s  %-24s  %s\n", "ID", "KIND", "STATE", "ATTEMPTS", "RUN AT",
              "LAST ERROR");
  for (const auto& r : rows) {
    std::string attempts = std::to_string(r.attempts) + "/" + std::to_string(r.max_attempts);
    std::printf("%-8lld  %-16s  %-8s  %-8s  %-24s  %s\n", static_cast<long long>(r.id),
                r.kind.c_str(), r.state.c_str(), attempts.c_str(),
                domain::format_iso8601_ms(r.run_at).c_str(), r.last_error.c_str());
  }
  return 0;
}

int cmd_jobs_retry(const Config& c, int64_t id) {
  auto db = open_checked(c);
  if (!db) return fail(db.error());
  service::Standalone services(std::move(*db));
  auto ok = service::retry_job(services.ctx(), id);
  if (!ok) return fail("job " + std::to_string(id) + " was not retried: " + ok.error());
  if (!*ok) {
    return fail("job " + std::to_string(id) +
                " cannot be retried (no such job, or it is not failed or dead)");
  }
  std::printf("Job %lld queued again; the running service picks it up within a second.\n",
              static_cast<long long>(id));
  return 0;
}

int cmd_jobs_purge(const Config& c, int days, bool dead) {
  auto db = open_checked(c);
  if (!db) return fail(db.error());
  int64_t before = SystemClock().now_ms() - days * kDayMs + (days == 0 ? 1 : 0);
  service::Standalone services(std::move(*db));
  auto purged = service::purge_jobs(services.ctx(), before, dead);
  if (!purged) return fail("jobs were not purged: " + purged.error());
  auto [done, dead_n] = *purged;
  std::printf("Deleted %lld done job(s)", static_cast<long long>(done));
  if (dead) std::printf(" and %lld dead job(s)", static_cast<long long>(dead_n));
  std::printf(" last updated more than %d day(s) ago.\n", days);
  return 0;
}

int cmd_events_replay(const Config& c, int64_t id) {
  auto db = open_checked(c);
  if (!db) return fail(db.error());
  service::Standalone services(std::move(*db));
  auto found = service::replay_event(services.ctx(), id);
  if (!found) return fail("event " + std::to_string(id) + " was not replayed: " + found.error());
  if (!*found) return fail("there is no event " + std::to_string(id));
  std::printf("Event %lld queued for processing again.\n", static_cast<long long>(id));
  return 0;
}

int cmd_rollup_rebuild(const Config& c) {
  auto db = open_checked(c);
  if (!db) return fail(db.error());
  try {
    auto size = store::rebuild_rollup(**db);
    std::printf("Rollup rebuilt from the cases: %lld row(s) by first failure, %lld by recovery.\n",
                static_cast<long long>(size.failure_rows),
                static_cast<long long>(size.recovery_rows));
  } catch (const std::exception& e) {
    return fail("the rollup was not rebuilt (it is unchanged): " + std::string(e.what()));
  }
  return 0;
}

}  // namespace

void add_ops_commands(CLI::App& cli, CLI::App* events,
                      const std::function<void(CLI::App*)>& add_common, OpsCommands& o) {
  o.backup = cli.add_subcommand("backup", "write a checked, consistent copy of the live database");
  add_common(o.backup);
  o.backup->add_option("file", o.file, "the backup file to write (must not exist)")->required();

  o.restore =
      cli.add_subcommand("restore",
                         "replace the database with a backup (validated first; the service must be "
                         "stopped)");
  add_common(o.restore);
  o.restore->add_option("file", o.file, "the backup file")->required();

  o.check = cli.add_subcommand("check", "integrity and foreign-key checks of the database");
  add_common(o.check);
  o.check->add_flag("--quick", o.quick, "quick_check instead of the full integrity_check");

  auto* member = cli.add_subcommand("member", "one member's personal data");
  member->require_subcommand(1);
  o.member_erase = member->add_subcommand(
      "erase", "remove or anonymise everything stored about one member (Whop user id)");
  add_common(o.member_erase);
  o.member_erase->add_option("user_id", o.user_id, "the member's Whop user id, e.g. user_...")
      ->required()
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.empty() ? std::string("needs the member's Whop user id (user_...)")
                             : std::string();
          },
          "USER_ID"));

  auto* jobs = cli.add_subcommand("jobs", "the job queue");
  jobs->require_subcommand(1);
  o.jobs_list = jobs->add_subcommand("list", "list jobs, newest first");
  add_common(o.jobs_list);
  o.jobs_list->add_option("--state", o.state, "queued | running | done | failed | dead")
      ->check(CLI::IsMember({"queued", "running", "done", "failed", "dead"}));
  o.jobs_list->add_option("--limit", o.limit, "how many (default 50)")
      ->check(CLI::Range(1, 1000000000));
  o.jobs_list->add_flag("--json", o.json, "one JSON object per line");
  o.jobs_retry = jobs->add_subcommand("retry", "queue a failed or dead job again");
  add_common(o.jobs_retry);
  o.jobs_retry->add_option("id", o.id, "the job id")->required();
  o.jobs_purge = jobs->add_subcommand("purge", "delete finished jobs");
  add_common(o.jobs_purge);
  o.jobs_purge
      ->add_option("--older-than", o.older_than_days,
                   "days since the job finished (default 7; 0 = all)")
      ->check(CLI::Range(0, 100000));
  o.jobs_purge->add_flag("--dead", o.dead, "also delete dead jobs (they cannot be retried after)");

  auto* rollup = cli.add_subcommand("rollup", "the overview's figures per 15 minutes");
  rollup->require_subcommand(1);
  o.rollup_rebuild =
      rollup->add_subcommand("rebuild", "sum the overview's rollup again from the cases");
  add_common(o.rollup_rebuild);

  o.events_replay = events->add_subcommand("replay", "process a stored event again");
  add_common(o.events_replay);
  o.events_replay->add_option("id", o.id, "the event id (see `churn-saver events`)")->required();
}

std::optional<int> run_ops_command(const OpsCommands& o, const Config& c) {
  if (o.backup && o.backup->parsed()) return cmd_backup(c, o.file);
  if (o.restore && o.restore->parsed()) return cmd_restore(c, o.file);
  if (o.check && o.check->parsed()) return cmd_check(c, o.quick);
  if (o.member_erase && o.member_erase->parsed()) return cmd_member_erase(c, o.user_id);
  if (o.jobs_list && o.jobs_list->parsed()) return cmd_jobs_list(c, o.state, o.limit, o.json);
  if (o.jobs_retry && o.jobs_retry->parsed()) return cmd_jobs_retry(c, o.id);
  if (o.jobs_purge && o.jobs_purge->parsed()) return cmd_jobs_purge(c, o.older_than_days, o.dead);
  if (o.events_replay && o.events_replay->parsed()) return cmd_events_replay(c, o.id);
  if (o.rollup_rebuild && o.rollup_rebuild->parsed()) return cmd_rollup_rebuild(c);
  return std::nullopt;
}

}  // namespace cs::app
