// The churn-saver binary as an operator uses it: version, migrate, cases/events on a database,
// refusals with messages a person understands.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json.hpp>

#include "store/auth.h"
#include "store/db.h"
#include "store/migrations.h"
#include "support/server_process.h"
#include "support/test_app.h"

using namespace cs;

TEST_CASE("version prints the version and schema") {
  auto r = test::run_binary({"version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("churn-saver " CHURN_SAVER_VERSION) == 0);
}

TEST_CASE("migrate status, up, verify, down N and up again") {
  test::TempDir dir;
  std::string db = dir.file("cli.db");
  auto st = test::run_binary({"migrate", "status", "--db", db});
  CHECK(st.exit_code == 0);
  CHECK(st.out.find("schema version 0") != std::string::npos);
  CHECK(st.out.find("pending") != std::string::npos);

  auto up = test::run_binary({"migrate", "up", "--db", db});
  CHECK(up.exit_code == 0);
  auto verify = test::run_binary({"migrate", "verify", "--db", db});
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("schema verified") != std::string::npos);

  auto down = test::run_binary({"migrate", "down", "1", "--db", db});
  CHECK(down.exit_code == 0);
  CHECK(down.out.find("schema version " + std::to_string(store::binary_schema_version() - 1)) !=
        std::string::npos);
  auto bad_down = test::run_binary({"migrate", "down", "--db", db});
  CHECK(bad_down.exit_code != 0);
  CHECK(test::run_binary({"migrate", "up", "--db", db}).exit_code == 0);
}

TEST_CASE("cases and events refuse a missing database and an unknown status clearly") {
  test::TempDir dir;
  auto missing = test::run_binary({"cases", "--db", dir.file("nope.db")});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("no database at") != std::string::npos);
  CHECK(test::run_binary({"migrate", "up", "--db", dir.file("x.db")}).exit_code == 0);
  auto bad = test::run_binary({"cases", "--status", "pending", "--db", dir.file("x.db")});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--status: pending not in {open,recovered,lost,cancelled}") !=
        std::string::npos);
  auto empty = test::run_binary({"events", "--json", "--db", dir.file("x.db")});
  CHECK(empty.exit_code == 0);
  CHECK(empty.out.empty());
}

TEST_CASE("serve refuses a database newer than the binary, naming both versions") {
  test::TempDir dir;
  std::string db = dir.file("new.db");
  {
    auto conn = store::open_connection(db, store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*conn));
    conn->exec("PRAGMA user_version = 42");
  }
  auto r = test::run_binary(
      {"serve", "--db", db, "--listen", "127.0.0.1:" + std::to_string(test::free_port())});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("schema version 42") != std::string::npos);
  CHECK(r.err.find("schema version " + std::to_string(store::binary_schema_version())) !=
        std::string::npos);
}

TEST_CASE("serve refuses a corrupt database and says how to restore") {
  test::TempDir dir;
  std::string db = dir.file("bad.db");
  {
    FILE* f = fopen(db.c_str(), "wb");
    std::string junk = "SQLite format 3";
    junk.push_back('\0');
    junk += std::string(4096, 'x');
    fwrite(junk.data(), 1, junk.size(), f);
    fclose(f);
  }
  auto r = test::run_binary(
      {"serve", "--db", db, "--listen", "127.0.0.1:" + std::to_string(test::free_port())});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("database") != std::string::npos);
}

TEST_CASE("a bad listen address and a bad config value are explained") {
  test::TempDir dir;
  auto r = test::run_binary({"serve", "--db", dir.file("a.db"), "--listen", "localhost"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("HOST:PORT") != std::string::npos);
  auto w = test::run_binary({"cases", "--db", dir.file("a.db")},
                            {"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS=abc"});
  CHECK(w.exit_code == 1);
  CHECK(w.err.find("CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS") != std::string::npos);
  // Strict values: a switch with a misspelt value, a number with a unit, an unknown key.
  auto b = test::run_binary({"cases", "--db", dir.file("a.db")},
                            {"CHURN_SAVER_DISABLE_NOTIFICATIONS=yess"});
  CHECK(b.exit_code == 1);
  CHECK(b.err.find("CHURN_SAVER_DISABLE_NOTIFICATIONS") != std::string::npos);
  CHECK(b.err.find("yes, no, true, false, on or off") != std::string::npos);
  auto d = test::run_binary({"cases", "--db", dir.file("a.db")},
                            {"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS=14days"});
  CHECK(d.exit_code == 1);
  CHECK(d.err.find("whole number of days from 1 to 90") != std::string::npos);
  std::string conf = dir.file("c.conf");
  FILE* f = fopen(conf.c_str(), "w");
  fprintf(f, "CHURN_SAVER_LOG_LEVEL=debug  # comment\n");
  fclose(f);
  // In the file an inline comment ends the value; through the environment it is refused.
  CHECK(test::run_binary({"migrate", "up", "--db", dir.file("a.db"), "--config", conf}).exit_code ==
        0);
  auto c = test::run_binary({"migrate", "up", "--db", dir.file("a.db")},
                            {"CHURN_SAVER_LOG_LEVEL=debug  # comment"});
  CHECK(c.exit_code == 1);
  CHECK(c.err.find("CHURN_SAVER_LOG_LEVEL") != std::string::npos);
  auto typo = dir.file("typo.conf");
  f = fopen(typo.c_str(), "w");
  fprintf(f, "CHURN_SAVER_DISABLE_NOTIFICATION=1\n");
  fclose(f);
  auto u = test::run_binary({"migrate", "up", "--db", dir.file("a.db"), "--config", typo});
  CHECK(u.exit_code == 1);
  CHECK(u.err.find("unknown setting CHURN_SAVER_DISABLE_NOTIFICATION") != std::string::npos);
  auto help = test::run_binary({"serve", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("CHURN_SAVER_DISABLE_NOTIFICATIONS") != std::string::npos);
}

TEST_CASE("config precedence: file, then environment, then flags") {
  test::TempDir dir;
  std::string conf = dir.file("cs.conf");
  FILE* f = fopen(conf.c_str(), "w");
  fprintf(f, "# comment\nCHURN_SAVER_DB=%s\n", dir.file("from-file.db").c_str());
  fclose(f);
  // File only: the database named in the file is the one migrated.
  CHECK(test::run_binary({"migrate", "up", "--config", conf}).exit_code == 0);
  CHECK(std::filesystem::exists(dir.file("from-file.db")));
  // Environment beats the file.
  CHECK(test::run_binary({"migrate", "up", "--config", conf},
                         {"CHURN_SAVER_DB=" + dir.file("from-env.db")})
            .exit_code == 0);
  CHECK(std::filesystem::exists(dir.file("from-env.db")));
  // The flag beats both.
  CHECK(test::run_binary({"migrate", "up", "--config", conf, "--db", dir.file("from-flag.db")},
                         {"CHURN_SAVER_DB=" + dir.file("from-env.db")})
            .exit_code == 0);
  CHECK(std::filesystem::exists(dir.file("from-flag.db")));
  auto missing = test::run_binary({"migrate", "up", "--config", dir.file("nope.conf")});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("cannot read config file") != std::string::npos);
}

namespace {

std::string repo_file(const std::string& rel) {
  std::ifstream in(std::string(CS_FIXTURES_DIR) + "/../../" + rel);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Each stdout line parses as a JSON object.
bool json_lines(const std::string& out, size_t* count = nullptr) {
  std::istringstream in(out);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return false;
    ++n;
  }
  if (count) *count = n;
  return true;
}

/// The lines of one section ("Options:", "Subcommands:") of CLI11's --help.
std::vector<std::string> help_section(const std::string& help, const std::string& title) {
  std::vector<std::string> lines;
  auto at = help.find("\n" + title + "\n");
  if (at == std::string::npos) return lines;
  std::istringstream in(help.substr(at + title.size() + 2));
  std::string line;
  while (std::getline(in, line) && !line.empty()) lines.push_back(line);
  return lines;
}

std::set<std::string> long_options(const std::string& text) {
  std::set<std::string> out;
  std::regex re(R"((^|[^a-z-])(--[a-z][a-z-]*))");
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    out.insert((*it)[2]);
  }
  return out;
}

}  // namespace

TEST_CASE("--version, and usage errors exit 2 with a hint") {
  auto v = test::run_binary({"--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.out == "churn-saver " CHURN_SAVER_VERSION " (schema " +
                     std::to_string(store::binary_schema_version()) + ")\n");
  test::TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string says, hint;
  };
  std::vector<Case> cases = {
      {{}, "A subcommand is required", "`churn-saver --help`"},
      {{"nonsense"}, "nonsense", "`churn-saver --help`"},
      {{"cases", "--bogus"}, "--bogus", "`churn-saver cases --help`"},
      {{"events", "--limit", "0"}, "--limit", "`churn-saver events --help`"},
      {{"jobs", "list", "--state", "x"}, "--state", "`churn-saver jobs list --help`"},
      {{"jobs", "purge", "--older-than", "-1"}, "--older-than", "`churn-saver jobs purge --help`"},
      {{"migrate", "down"}, "migrate down needs a number of steps", "`churn-saver migrate --help`"},
      {{"migrate", "up", "--json"}, "--json goes with `migrate status`", "`churn-saver migrate"},
      {{"member", "erase"}, "user_id", "`churn-saver member erase --help`"},
      {{"backup"}, "file", "`churn-saver backup --help`"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    if (!args.empty()) {
      args.push_back("--db");
      args.push_back(dir.file("none.db"));
    }
    auto r = test::run_binary(args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.err.find("Run " + c.hint) != std::string::npos);
    CHECK(r.out.empty());
  }
  // --help is not an error.
  CHECK(test::run_binary({"jobs", "list", "--help"}).exit_code == 0);
  // Nothing was created by a refused command.
  CHECK_FALSE(std::filesystem::exists(dir.file("none.db")));
}

TEST_CASE("--db before or after the subcommand; --json on every listing command") {
  test::TempDir dir;
  const std::string db = dir.file("where.db");
  REQUIRE(test::run_binary({"--db", db, "migrate", "up"}).exit_code == 0);
  REQUIRE(std::filesystem::exists(db));
  CHECK_FALSE(std::filesystem::exists("./churn-saver.db"));
  std::vector<std::vector<std::string>> listings = {
      {"cases", "--json"}, {"events", "--json"}, {"jobs", "list", "--json"}};
  for (const auto& l : listings) {
    INFO(l[0]);
    std::vector<std::string> before = {"--db", db};
    before.insert(before.end(), l.begin(), l.end());
    auto after = l;
    after.push_back("--db");
    after.push_back(db);
    auto b = test::run_binary(before);
    auto a = test::run_binary(after);
    CHECK(b.exit_code == 0);
    CHECK(a.exit_code == 0);
    CHECK(json_lines(b.out));
    CHECK(a.out == b.out);
  }
  // Between a command and its subcommand too.
  CHECK(test::run_binary({"jobs", "--db", db, "list", "--json"}).exit_code == 0);
  // A non-empty listing: one JSON object per line.
  {
    auto conn = store::open_connection(db, store::ConnectionRole::Writer);
    conn->exec(
        "INSERT INTO jobs(kind, payload, state, max_attempts, run_at, created_at, updated_at) "
        "VALUES('process_event', '{}', 'dead', 5, 0, 0, 0), "
        "('process_event', '{}', 'done', 5, 0, 0, 0)");
  }
  auto jobs = test::run_binary({"jobs", "list", "--json", "--db", db});
  size_t n = 0;
  CHECK(json_lines(jobs.out, &n));
  CHECK(n == 2);
  auto status = test::run_binary({"migrate", "status", "--json", "--db", db});
  CHECK(status.exit_code == 0);
  auto j = nlohmann::json::parse(status.out);
  CHECK(j["exists"] == true);
  CHECK(j["schema_version"] == store::binary_schema_version());
  CHECK(j["pending"] == 0);
  CHECK(j["migrations"].size() == store::migrations().size());
}

TEST_CASE("migrate status on a missing file says so and creates nothing") {
  test::TempDir dir;
  const std::string db = dir.file("missing.db");
  auto r = test::run_binary({"migrate", "status", "--db", db});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("schema version 0") != std::string::npos);
  CHECK(r.out.find("no file there yet") != std::string::npos);
  auto j = test::run_binary({"migrate", "status", "--json", "--db", db});
  CHECK(j.exit_code == 0);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["exists"] == false);
  CHECK(doc["pending"] == store::binary_schema_version());
  CHECK(test::run_binary({"migrate", "verify", "--db", db}).exit_code == 1);
  CHECK(test::run_binary({"migrate", "down", "1", "--db", db}).exit_code == 1);
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    CHECK_FALSE(std::filesystem::exists(db + suffix));
  }
}

TEST_CASE("admin setup-link: a new one-time link while no password is set, kept 0600") {
  test::TempDir dir;
  const std::string db = dir.file("admin.db");
  CHECK(test::run_binary({"admin", "setup-link", "--db", db}).exit_code == 1);  // no database
  REQUIRE(test::run_binary({"migrate", "up", "--db", db}).exit_code == 0);
  auto r =
      test::run_binary({"admin", "setup-link", "--db", db}, {"CHURN_SAVER_LISTEN=127.0.0.1:9123"});
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(
      std::regex_search(r.out, m, std::regex(R"(http://127\.0\.0\.1:9123/setup/[0-9a-f]{32})")));
  CHECK(r.out.find("ssh -N -L 9123:127.0.0.1:9123 YOU@YOUR-SERVER") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat((db + ".setup-link").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(test::read_file(db + ".setup-link") == m.str() + "\n");
  // Once a password is set there is no link to give.
  {
    auto conn = store::open_connection(db, store::ConnectionRole::Writer);
    store::save_admin_password(*conn, "pbkdf2-placeholder", 1);
  }
  auto after = test::run_binary({"admin", "setup-link", "--db", db});
  CHECK(after.exit_code == 1);
  CHECK(after.err.find("an admin password is already set") != std::string::npos);
  CHECK(after.out.empty());
}

TEST_CASE("the man page documents every command and option --help lists, and no other") {
  const std::string man_raw = repo_file("packaging/churn-saver.8");
  REQUIRE_FALSE(man_raw.empty());
  // groff: '\-' is '-', and font changes are not text.
  std::string man = std::regex_replace(man_raw, std::regex(R"(\\-)"), "-");
  man = std::regex_replace(man, std::regex(R"(\\f[BIRP])"), "");
  // SYNOPSIS: one block per command, from ".B churn-saver COMMAND" to ".br".
  auto syn_at = man.find(".SH SYNOPSIS");
  REQUIRE(syn_at != std::string::npos);
  std::string synopsis = man.substr(syn_at, man.find(".SH ", syn_at + 4) - syn_at);
  std::map<std::string, std::string> blocks;
  {
    std::istringstream in(synopsis);
    std::string line, current;
    bool open = false;
    while (std::getline(in, line)) {
      if (line.rfind(".B churn-saver", 0) == 0) {
        current = line.substr(std::string(".B churn-saver").size());
        if (!current.empty() && current[0] == ' ') current.erase(0, 1);
        blocks[current] = "";
        open = true;
      } else if (line == ".br") {
        open = false;
      } else if (open) {
        blocks[current] += line + "\n";
      }
    }
  }
  // Every command --help shows, found by walking the subcommands.
  std::vector<std::vector<std::string>> todo = {{}};
  std::set<std::string> seen;
  while (!todo.empty()) {
    auto path = todo.back();
    todo.pop_back();
    auto args = path;
    args.push_back("--help");
    auto help = test::run_binary(args);
    REQUIRE(help.exit_code == 0);
    std::string name;
    for (const auto& p : path) name += (name.empty() ? "" : " ") + p;
    auto options_lines = help_section(help.out, "Options:");
    std::string options_text;
    for (const auto& l : options_lines) options_text += l.substr(0, l.find("  ", 2)) + "\n";
    auto options = long_options(options_text);
    options.erase("--help");
    if (!path.empty()) {
      options.erase("--db");
      options.erase("--config");
    }
    auto subs = help_section(help.out, "Subcommands:");
    for (const auto& l : subs) {
      auto word = l.substr(2, l.find(' ', 2) - 2);
      auto next = path;
      next.push_back(word);
      todo.push_back(next);
    }
    // A command that only groups others (jobs, admin, member) has no line of its own.
    bool groups_only = !subs.empty() && options.empty() && !path.empty() &&
                       help.out.find("Positionals:") == std::string::npos &&
                       help_section(help.out, "Options:").size() == 1;
    if (groups_only) continue;
    seen.insert(name);
    INFO("command: churn-saver " << name);
    REQUIRE_MESSAGE(blocks.count(name), "the man page's SYNOPSIS has no line for it");
    CHECK(long_options(blocks[name]) == options);
  }
  for (const auto& [name, text] : blocks) {
    INFO("man page SYNOPSIS line: churn-saver " << name);
    CHECK(seen.count(name));
  }
  // The usage errors, the logs and the setup link file are explained.
  CHECK(man.find("2 on a usage") != std::string::npos);
  CHECK(man.find("JOURNAL_STREAM") != std::string::npos);
  CHECK(man.find(".setup-link") != std::string::npos);
}
