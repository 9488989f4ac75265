// The churn-saver binary as an operator uses it: version, migrate, cases/events on a database,
// refusals with messages a person understands.
#include <doctest/doctest.h>

#include <filesystem>

#include <SQLiteCpp/Database.h>

#include "store/db.h"
#include "store/migrations.h"
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
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("unknown status") != std::string::npos);
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
