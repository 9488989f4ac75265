// Strict configuration (src/app/config.h): one table of settings, systemd's boolean spellings,
// whole values only, ranges, whsec_ secrets checked, and the README and man page listing every
// key of the table.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "app/config.h"

using namespace cs;

#ifndef CS_FIXTURES_DIR
#error "CS_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif

namespace {

Result<app::Config> load(const std::map<std::string, std::string>& env) {
  return app::load_config(
      {},
      [&](const char* k) -> const char* {
        auto it = env.find(k);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      "/nonexistent/churn-saver.conf");
}

std::string read_repo_file(const std::string& rel) {
  std::ifstream in(std::string(CS_FIXTURES_DIR) + "/../../" + rel);
  REQUIRE_MESSAGE(in.good(), "cannot open " << rel);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("booleans take systemd's spellings, in any letter case; anything else refuses") {
  for (const char* on : {"1", "yes", "true", "on", "YES", "True", "ON"}) {
    INFO(std::string(on));
    auto c = load({{"CHURN_SAVER_DISABLE_NOTIFICATIONS", on}});
    REQUIRE(c.ok());
    CHECK(c->disable_notifications);
  }
  for (const char* off : {"0", "no", "false", "off", "No"}) {
    INFO(std::string(off));
    auto c = load({{"CHURN_SAVER_DISABLE_NOTIFICATIONS", off}});
    REQUIRE(c.ok());
    CHECK_FALSE(c->disable_notifications);
  }
  for (const char* bad : {"yess", "2", "y", "enabled", "1 ", " yes", "yes # off", "on\n"}) {
    INFO(std::string(bad));
    auto c = load({{"CHURN_SAVER_DISABLE_SCHEDULER", bad}});
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().find("CHURN_SAVER_DISABLE_SCHEDULER") != std::string::npos);
    CHECK(c.error().find("1, 0, yes, no, true, false, on or off") != std::string::npos);
  }
}

TEST_CASE("numbers: whole values only, inside their range, no unit or trailing junk") {
  CHECK(load({{"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS", "30"}})->attribution_window_days == 30);
  CHECK(load({{"CHURN_SAVER_HTTP_THREADS", "8"}})->http_threads == 8);
  CHECK(load({{"CHURN_SAVER_SCHEDULER_INTERVAL", "0.5"}})->scheduler_interval_s == 0.5);
  for (auto [key, bad] : std::initializer_list<std::pair<const char*, const char*>>{
           {"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS", "14days"},
           {"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS", "14 "},
           {"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS", "0"},
           {"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS", "91"},
           {"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS", "1e1"},
           {"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS", "99999999999999999999"},
           {"CHURN_SAVER_HTTP_THREADS", "0"},
           {"CHURN_SAVER_HTTP_THREADS", "100000"},
           {"CHURN_SAVER_HTTP_THREADS", "-4"},
           {"CHURN_SAVER_HTTP_THREADS", "8 threads"},
           {"CHURN_SAVER_JOB_LEASE", "0x10"},
           {"CHURN_SAVER_BACKUP_KEEP", "+7"},
           {"CHURN_SAVER_SCHEDULER_INTERVAL", "60s"},
           {"CHURN_SAVER_SCHEDULER_INTERVAL", "-1"},
           {"CHURN_SAVER_SCHEDULER_INTERVAL", "nan"},
           {"CHURN_SAVER_SCHEDULER_INTERVAL", "1e3"},
           {"CHURN_SAVER_RECONCILE_INTERVAL", "0"},
           {"CHURN_SAVER_MAINTENANCE_INTERVAL", "90000"},
           {"CHURN_SAVER_LOG_LEVEL", "verbose"},
           {"CHURN_SAVER_LOG_LEVEL", "debug  # comment"}}) {
    INFO(key << "=" << bad);
    auto c = load({{key, bad}});
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().find(key) != std::string::npos);
    CHECK(c.error().find("use ") != std::string::npos);
  }
  CHECK(load({{"CHURN_SAVER_LOG_LEVEL", "DEBUG"}})->log_level == "debug");
}

TEST_CASE("a whsec_ secret must be whsec_ and base64; the secret is never echoed") {
  auto ok = load({{"CHURN_SAVER_WHOP_WEBHOOK_SECRET", "ws_plain, whsec_c2VjcmV0LWJ5dGVz"}});
  REQUIRE(ok.ok());
  CHECK(ok->webhook_secrets.size() == 2);
  for (const char* bad : {"whsec_not-base64!", "whsec_", "ws_ok,whsec_abc"}) {
    INFO(std::string(bad));
    auto c = load({{"CHURN_SAVER_WHOP_WEBHOOK_SECRET", bad}});
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().find("CHURN_SAVER_WHOP_WEBHOOK_SECRET") != std::string::npos);
    CHECK(c.error().find("base64") != std::string::npos);
    const std::string rest = std::string(bad).substr(6);
    if (!rest.empty()) CHECK(c.error().find(rest) == std::string::npos);
  }
}

TEST_CASE("config file: systemd EnvironmentFile syntax; inline comments and unknown keys refused") {
  auto kv = app::parse_env_file(
      "# comment\n; also a comment\n\nCHURN_SAVER_DB=/var/lib/x.db\n"
      "CHURN_SAVER_PUBLIC_URL=\"https://a.example/#frag ment\"\nCHURN_SAVER_ALERT_URL=a#b\n");
  REQUIRE(kv.ok());
  CHECK(kv->at("CHURN_SAVER_DB") == "/var/lib/x.db");
  CHECK(kv->at("CHURN_SAVER_PUBLIC_URL") == "https://a.example/#frag ment");
  CHECK(kv->at("CHURN_SAVER_ALERT_URL") == "a#b");
  // An inline comment ends an unquoted value in the file (a local edit keeps working after an
  // upgrade); the same text arriving through the environment (systemd EnvironmentFile keeps it)
  // is refused, never read silently.
  auto inline_comment = app::parse_env_file(
      "CHURN_SAVER_LOG_LEVEL=debug  # comment\nCHURN_SAVER_DISABLE_NOTIFICATIONS=yes\t# off\n");
  REQUIRE(inline_comment.ok());
  CHECK(inline_comment->at("CHURN_SAVER_LOG_LEVEL") == "debug");
  CHECK(inline_comment->at("CHURN_SAVER_DISABLE_NOTIFICATIONS") == "yes");
  auto from_env = load({{"CHURN_SAVER_LOG_LEVEL", "debug  # comment"}});
  REQUIRE_FALSE(from_env.ok());
  CHECK(from_env.error().find("debug, info, warn or error") != std::string::npos);
  CHECK_FALSE(app::parse_env_file("churn saver=1\n").ok());
}

TEST_CASE("--help, the README and the man page list every setting of the table") {
  const std::string help = app::settings_help();
  const std::string readme = read_repo_file("README.md");
  const std::string man = read_repo_file("packaging/churn-saver.8");
  for (const auto& s : app::settings_table()) {
    const std::string key = s.key;
    INFO(key);
    CHECK(help.find(key) != std::string::npos);
    // A README table row for the key, stating the table's default.
    const auto row = readme.find("| `" + key + "` |");
    REQUIRE(row != std::string::npos);
    const std::string line = readme.substr(row, readme.find('\n', row) - row);
    CHECK(line.find(s.default_text) != std::string::npos);
    // The man page names it (groff escapes '-' as '\-', never inside these names).
    CHECK(man.find(key) != std::string::npos);
  }
}
