// Logs under systemd (issue 12 item 8): when JOURNAL_STREAM names the stream stderr is connected
// to, every line starts with its syslog priority so `journalctl -p warning` filters; the one-time
// setup link never reaches the journal (it is kept in <db>.setup-link, 0600, and the log says
// where). Anywhere else the lines are plain JSON and the link is printed on stdout as JSON.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "e2e/ops_support.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;

namespace {

std::string stream_id(const std::string& path) {
  ops_test::write_file(path, "");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

const std::map<std::string, int> kPriority = {{"debug", 7}, {"info", 6}, {"warn", 4}, {"error", 3}};

}  // namespace

TEST_CASE("journal: each line carries its priority; the setup link stays out of it") {
  ::signal(SIGPIPE, SIG_IGN);
  test::TempDir dir;
  const std::string db = dir.file("cs.db");
  const std::string journal = dir.file("journal.log");
  // stdout and stderr both go to the "journal" (one file, as systemd connects one socket).
  ops_test::ServerProcess server(
      db, journal, {"JOURNAL_STREAM=" + stream_id(journal), "CHURN_SAVER_LOG_LEVEL=debug"});
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), ops_test::tail(server.log()));
  {
    // A forged delivery (a warning) and a good one (debug).
    auto c = server.client();
    std::string body = test::whop_fixture("v1_payment.failed.json");
    auto forged = c.Post("/webhooks/whop", test::v1_headers("ws_forged", "msg_j1", body), body,
                         "application/json");
    REQUIRE(forged);
    CHECK(forged->status == 401);
    auto good = c.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, "msg_j2", body), body,
                       "application/json");
    REQUIRE(good);
    CHECK(good->status == 200);
  }
  int status = server.signal_and_reap(SIGTERM);
  CHECK(WIFEXITED(status));

  const std::string log = ops_test::read_file(journal);
  std::set<int> priorities;
  std::regex prefixed(R"(^<([0-7])>(\{.*\})$)");
  for (const auto& line : lines_of(log)) {
    INFO(line);
    std::smatch m;
    REQUIRE(std::regex_match(line, m, prefixed));
    auto j = json::parse(m[2].str(), nullptr, false);
    REQUIRE(j.is_object());
    CHECK(std::stoi(m[1].str()) == kPriority.at(j["level"].get<std::string>()));
    priorities.insert(std::stoi(m[1].str()));
  }
  CHECK(priorities == std::set<int>{4, 6, 7});

  // The link is in its file, readable by this user only; the journal names the file, not the link.
  const std::string file = db + ".setup-link";
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::smatch m;
  const std::string link = ops_test::read_file(file);
  REQUIRE(std::regex_search(link, m, std::regex(R"(/setup/([0-9a-f]{32}))")));
  const std::string token = m[1].str();
  CHECK(log.find(token) == std::string::npos);
  CHECK(log.find("/setup/") == std::string::npos);
  CHECK(log.find("sudo cat " + file) != std::string::npos);
  CHECK(log.find("ssh -N -L " + std::to_string(server.port())) != std::string::npos);

  // A start-up failure is an error line (<3>) in the journal too.
  ops_test::write_file(dir.file("bad.db"),
                       std::string("SQLite format 3") + '\0' + std::string(4096, 'x'));
  const std::string journal2 = dir.file("journal2.log");
  ops_test::ServerProcess bad(dir.file("bad.db"), journal2,
                              {"JOURNAL_STREAM=" + stream_id(journal2)});
  bad.start();
  CHECK_FALSE(bad.wait_ready());
  auto bad_lines = lines_of(ops_test::read_file(journal2));
  REQUIRE_FALSE(bad_lines.empty());
  bool error_line = false;
  for (const auto& line : bad_lines) {
    INFO(line);
    CHECK(line.rfind("<", 0) == 0);
    if (line.rfind("<3>{", 0) == 0 && line.find("\"level\":\"error\"") != std::string::npos) {
      error_line = true;
    }
  }
  CHECK(error_line);
}

TEST_CASE("outside the journal: plain JSON lines, and the setup link as JSON on stdout") {
  test::TempDir dir;
  const std::string other = dir.file("not-stderr");
  // A JOURNAL_STREAM inherited from elsewhere (it names another file) changes nothing.
  ops_test::ServerProcess server(dir.file("cs.db"), dir.file("stderr.log"),
                                 {"JOURNAL_STREAM=" + stream_id(other)}, dir.file("stdout.log"));
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), ops_test::tail(server.log()));
  const int port = server.port();
  auto setup_page = [&](const std::string& path) { return server.client().Get(path)->status; };
  auto first_out = lines_of(ops_test::read_file(dir.file("stdout.log")));
  REQUIRE(first_out.size() == 1);
  const std::string printed = json::parse(first_out[0])["setup_link"];
  CHECK(setup_page(printed.substr(printed.find("/setup/"))) == 200);
  server.signal_and_reap(SIGTERM);
  auto err = lines_of(ops_test::read_file(dir.file("stderr.log")));
  auto out = lines_of(ops_test::read_file(dir.file("stdout.log")));
  REQUIRE_FALSE(err.empty());
  for (const auto& line : err) {
    INFO(line);
    CHECK(json::parse(line, nullptr, false).is_object());
  }
  // The start-up banner is a JSON line with the address.
  bool banner = false;
  for (const auto& line : err) {
    auto j = json::parse(line);
    if (j["msg"] == "churn-saver started") {
      banner = j["url"] == "http://127.0.0.1:" + std::to_string(port) + "/";
    }
  }
  CHECK(banner);
  REQUIRE(out.size() == 1);
  auto j = json::parse(out[0], nullptr, false);
  REQUIRE(j.is_object());
  const std::string link = j["setup_link"];
  CHECK(std::regex_match(
      link, std::regex("http://127\\.0\\.0\\.1:" + std::to_string(port) + "/setup/[0-9a-f]{32}")));
  CHECK(j["from_a_laptop"].get<std::string>().find("ssh -N -L") != std::string::npos);
  CHECK(ops_test::read_file(dir.file("cs.db.setup-link")) == link + "\n");
}
