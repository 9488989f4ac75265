// The database check at start (issue 14 item 6): a small file is checked before serving; a large
// one (a full read: minutes at 10 M events) only when the last run did not close it cleanly (a
// WAL left behind), after READY and in the background, with readiness reporting it.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "support/test_app.h"
#include "support/wait.h"

using namespace cs;
using nlohmann::json;

namespace {

/// A database past the size that is checked before serving, closed cleanly (no WAL left).
std::string large_database(test::TempDir& dir) {
  const std::string path = dir.file("cs.db");
  {
    test::TestApp::Options o;
    o.db_path = path;
    test::TestApp app(o);  // creates and migrates it
  }
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec("CREATE TABLE ballast (b BLOB)");
  db.exec("INSERT INTO ballast VALUES (zeroblob(" +
          std::to_string(app::kSyncQuickCheckBytes + 1024 * 1024) + "))");
  return path;
}

json readyz(test::TestApp& app) {
  auto res = app.client().Get("/readyz");
  REQUIRE(res);
  return json::parse(res->body);
}

}  // namespace

TEST_CASE("start check: a large database closed cleanly is served without reading it all") {
  test::TempDir dir;
  const auto path = large_database(dir);
  REQUIRE(std::filesystem::file_size(path) > app::kSyncQuickCheckBytes);
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));

  test::TestApp::Options o;
  o.db_path = path;
  test::TestApp app(o);
  CHECK(app.app().db_check().state() == "clean_shutdown");
  auto r = readyz(app);
  CHECK(r["checks"]["database"]["ok"] == true);
  CHECK(r["checks"]["database"]["detail"] == "closed cleanly by the last run: not checked");
}

TEST_CASE("start check: a large database left with its WAL is checked in the background") {
  test::TempDir dir;
  const auto path = large_database(dir);
  // A connection that still has the file open with a commit in its WAL: what a killed server
  // leaves behind.
  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("INSERT INTO ballast VALUES (x'00')");
  REQUIRE(std::filesystem::file_size(path + "-wal") > 0);

  test::TestApp::Options o;
  o.db_path = path;
  test::TestApp app(o);
  CHECK(test::wait_for([&] { return app.app().db_check().state() == "ok"; }));
  CHECK(readyz(app)["checks"]["database"]["detail"] == "integrity ok");
}
