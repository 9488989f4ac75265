#pragma once
// Builds signed webhook requests for tests and benchmarks (the signing itself is
// cs::whop::sign_v1 / sign_legacy, the same code the fake Whop uses).
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include <httplib.h>

#include "store/events.h"
#include "support/test_app.h"
#include "whop/signature.h"

namespace cs::test {

/// Headers of a v1 delivery of `body` under `webhook_id`, signed with `secret` at `ts` (unix s).
inline httplib::Headers v1_headers(const std::string& secret, const std::string& webhook_id,
                                   const std::string& body, int64_t ts = std::time(nullptr)) {
  return {{"webhook-id", webhook_id},
          {"webhook-timestamp", std::to_string(ts)},
          {"webhook-signature", whop::sign_v1(secret, webhook_id, ts, body)}};
}

/// The bytes of tests/fixtures/whop/<name>.
inline std::string whop_fixture(const std::string& name) {
  std::ifstream in(std::string(CS_FIXTURES_DIR) + "/whop/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// How many events the app has stored.
inline int64_t stored_events(TestApp& t) {
  auto db = t.app().reads().lease();
  return store::count_events(*db);
}

}  // namespace cs::test
