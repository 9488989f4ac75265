// POST /webhooks/whop against the real server on an ephemeral port: every bad input gets its
// status with nothing stored; good deliveries are stored once, encrypted at rest.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "store/events.h"
#include "support/test_app.h"
#include "support/webhook_client.h"
#include "util/crypto.h"

using namespace cs;
using nlohmann::json;

namespace {

std::string fixture(const std::string& name) {
  return test::whop_fixture(name);
}
using test::stored_events;

httplib::Result post(test::TestApp& t, const std::string& body, const httplib::Headers& h) {
  auto c = t.client();
  return c.Post("/webhooks/whop", h, body, "application/json");
}

/// Sends raw bytes on a fresh connection; returns everything read until EOF or `wait_ms`.
std::string raw_exchange(int port, const std::string& bytes, int wait_ms) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(send(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  timeval tv{wait_ms / 1000, (wait_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

int count_of(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("bad deliveries get their status and store nothing") {
  test::TestApp t;
  const std::string body = fixture("v1_payment.failed.json");
  const std::string id = "msg_TABLE0000000000000000001";
  int64_t now = std::time(nullptr);
  auto good = test::v1_headers(test::kTestSecret, id, body, now);

  struct Row {
    const char* name;
    std::string body;
    httplib::Headers headers;
    int status;
    const char* code;
  };
  auto without = [&](const char* header) {
    httplib::Headers h = good;
    h.erase(header);
    return h;
  };
  std::vector<Row> rows = {
      {"no webhook-id", body, without("webhook-id"), 401, "missing_headers"},
      {"no timestamp", body, without("webhook-timestamp"), 401, "missing_headers"},
      {"no signature", body, without("webhook-signature"), 401, "missing_headers"},
      {"wrong secret", body, test::v1_headers("ws_wrong", id, body, now), 401, "bad_signature"},
      {"body changed after signing", body + " ", good, 401, "bad_signature"},
      // Well outside the 300 s tolerance, so that a slow machine's seconds between building these
      // rows and sending them do not bring one inside it (the exact edge: test_signature.cpp).
      {"330 s old", body, test::v1_headers(test::kTestSecret, id, body, now - 330), 401,
       "stale_timestamp"},
      {"330 s ahead", body, test::v1_headers(test::kTestSecret, id, body, now + 330), 401,
       "stale_timestamp"},
      {"invalid JSON", "{not json", test::v1_headers(test::kTestSecret, id, "{not json", now), 400,
       "bad_json"},
      {"nested deeper than 64", std::string(65, '[') + std::string(65, ']'),
       test::v1_headers(test::kTestSecret, id, std::string(65, '[') + std::string(65, ']'), now),
       400, "bad_json"},
      // Found by tests/fuzz/fuzz_event: the parser's out_of_range escaped as a 500.
      {"number out of range", R"({"type":"payment.failed","data":{"total":1e400}})",
       test::v1_headers(test::kTestSecret, id,
                        R"({"type":"payment.failed","data":{"total":1e400}})", now),
       400, "bad_json"},
      {"no event type", R"({"data":{}})",
       test::v1_headers(test::kTestSecret, id, R"({"data":{}})", now), 400, "bad_event"},
      {"malformed webhook-id", body, test::v1_headers(test::kTestSecret, "msg bad/id", body, now),
       400, "bad_webhook_id"},
  };
  for (const auto& row : rows) {
    INFO(std::string(row.name));
    auto res = post(t, row.body, row.headers);
    REQUIRE(res);
    CHECK(res->status == row.status);
    auto err = json::parse(res->body, nullptr, false);
    CHECK(err["error"]["code"] == row.code);
    CHECK_FALSE(err["error"]["message"].get<std::string>().empty());
  }
  CHECK(stored_events(t) == 0);

  // 64 levels deep is allowed.
  std::string deep = R"({"type":"x.y","data":)" + std::string(62, '[') + std::string(62, ']') + "}";
  auto ok = post(t, deep, test::v1_headers(test::kTestSecret, "msg_DEEP", deep, now));
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("a good delivery is stored once; a redelivery is acknowledged and stores nothing") {
  test::TestApp t;
  const std::string body = fixture("v1_payment.failed.json");
  auto h = test::v1_headers(test::kTestSecret, "msg_ONCE", body);
  auto first = post(t, body, h);
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(json::parse(first->body)["result"] == "stored");
  auto again = post(t, body, test::v1_headers(test::kTestSecret, "msg_ONCE", body));
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(json::parse(again->body)["result"] == "duplicate");
  CHECK(stored_events(t) == 1);
}

TEST_CASE("several signatures during rotation: one good entry is enough") {
  test::TestApp::Options o;
  o.secrets = {"ws_old_secret", test::kTestSecret};
  test::TestApp t(o);
  const std::string body = fixture("v1_payment.succeeded.json");
  int64_t ts = std::time(nullptr);
  httplib::Headers h = {
      {"webhook-id", "msg_ROT"},
      {"webhook-timestamp", std::to_string(ts)},
      {"webhook-signature", "v2,unknownversion v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " +
                                whop::sign_v1(test::kTestSecret, "msg_ROT", ts, body)}};
  auto res = post(t, body, h);
  REQUIRE(res);
  CHECK(res->status == 200);
  httplib::Headers only_unknown = h;
  only_unknown.erase("webhook-signature");
  only_unknown.emplace("webhook-signature", "v2,whatever");
  auto bad = post(t, body, only_unknown);
  REQUIRE(bad);
  CHECK(bad->status == 401);
}

TEST_CASE("the legacy x-whop-signature header is accepted as a fallback") {
  test::TestApp t;
  const std::string body = fixture("v5_legacy_payment.failed.json");
  int64_t ts = std::time(nullptr);
  auto res = post(t, body, {{"x-whop-signature", whop::sign_legacy(test::kTestSecret, ts, body)}});
  REQUIRE(res);
  CHECK(res->status == 200);
  auto stale =
      post(t, body, {{"x-whop-signature", whop::sign_legacy(test::kTestSecret, ts - 400, body)}});
  REQUIRE(stale);
  CHECK(stale->status == 401);
  CHECK(stored_events(t) == 1);
}

TEST_CASE("Whop's signed test vector verifies at the vector's own time") {
  ManualClock clock(1767225600LL * 1000);
  test::TestApp::Options o;
  o.secrets = {"ws_28c2a0ba7b871781f3e69297d36443e0748ba95ca48b627483daf94564bd613a"};
  o.clock = &clock;
  test::TestApp t(o);
  auto vec = json::parse(fixture("vector.json"));
  const std::string body = fixture("vector_body.json");
  httplib::Headers h;
  for (auto it = vec["headers"].begin(); it != vec["headers"].end(); ++it) {
    h.emplace(it.key(), it.value().get<std::string>());
  }
  auto res = post(t, body, h);
  REQUIRE(res);
  CHECK(res->status == 200);
  auto legacy =
      post(t, body, {{"x-whop-signature", vec["legacy_x_whop_signature"].get<std::string>()}});
  REQUIRE(legacy);
  CHECK(legacy->status == 200);
  clock.advance(301 * 1000);
  auto late = post(t, body, h);
  REQUIRE(late);
  CHECK(late->status == 401);
}

TEST_CASE("no secret configured: 503 so Whop retries, nothing stored") {
  test::TestApp::Options o;
  o.secrets = {};
  test::TestApp t(o);
  const std::string body = fixture("v1_payment.failed.json");
  auto res = post(t, body, test::v1_headers(test::kTestSecret, "msg_NOSECRET", body));
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(stored_events(t) == 0);
}

TEST_CASE("the database cannot be written: 503, and Whop's retry is stored once it can") {
  test::TestApp t;
  const std::string body = fixture("v1_payment.failed.json");
  t.app().writer().set_fail_commits_for_test(true);
  auto res = post(t, body, test::v1_headers(test::kTestSecret, "msg_DISK", body));
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(res->get_header_value("Retry-After") == "10");
  t.app().writer().set_fail_commits_for_test(false);
  CHECK(stored_events(t) == 0);
  auto retry = post(t, body, test::v1_headers(test::kTestSecret, "msg_DISK", body));
  REQUIRE(retry);
  CHECK(retry->status == 200);
  CHECK(json::parse(retry->body)["result"] == "stored");
}

TEST_CASE("unknown event types are stored and acknowledged") {
  test::TestApp t;
  std::string body =
      R"({"id":"msg_X","api_version":"v1","timestamp":"2026-11-20T10:00:00Z","type":"entry.created","data":{"id":"entry_1"}})";
  auto res = post(t, body, test::v1_headers(test::kTestSecret, "msg_UNKNOWN", body));
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(t.drain() == 1);
  auto db = t.app().reads().lease();
  auto rows = store::list_recent_events(*db, 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].type == "entry.created");
  CHECK(rows[0].process_state == "ignored");
}

TEST_CASE("411 and 413 come before the body is read, and a smuggled request is never served") {
  test::TestApp t;
  std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  auto too_big = raw_exchange(
      t.port(),
      "POST /webhooks/whop HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n" + smuggled,
      1500);
  CHECK(too_big.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(count_of(too_big, "HTTP/1.1 ") == 1);

  auto chunked = raw_exchange(t.port(),
                              "POST /webhooks/whop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                              "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
                                  smuggled,
                              1500);
  CHECK(chunked.rfind("HTTP/1.1 411", 0) == 0);
  CHECK(count_of(chunked, "HTTP/1.1 ") == 1);

  auto no_length =
      raw_exchange(t.port(), "POST /webhooks/whop HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled, 1500);
  CHECK(no_length.rfind("HTTP/1.1 411", 0) == 0);
  CHECK(stored_events(t) == 0);

  // Exactly 1 MiB is within the limit (it is then rejected for its signature, not its size).
  std::string mib(1024 * 1024, ' ');
  auto c = t.client();
  auto res = c.Post("/webhooks/whop", mib, "application/json");
  REQUIRE(res);
  CHECK(res->status == 401);
}

TEST_CASE("payloads are encrypted at rest and open with the generated 0600 key file") {
  test::TestApp t;
  const std::string body = fixture("v1_payment.failed.json");
  REQUIRE(post(t, body, test::v1_headers(test::kTestSecret, "msg_SEALED", body))->status == 200);
  struct stat st {};
  REQUIRE(stat((t.db_path() + ".key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto db = t.app().reads().lease();
  auto rows = store::list_recent_events(*db, 1);
  REQUIRE(rows.size() == 1);
  std::string sealed = store::event_payload(*db, rows[0].id);
  CHECK(sealed.find("john.doe@example.com") == std::string::npos);
  CHECK(sealed.find("Your card") == std::string::npos);
  auto ring = crypto::load_or_create_keyring(t.db_path() + ".key");
  REQUIRE(ring);
  auto opened = store::open_event_payload(*ring, sealed, "msg_SEALED");
  REQUIRE(opened);
  CHECK(*opened == body);
  CHECK(sealed.size() < body.size());  // compressed before sealing
  // Bound to its row: it does not open as another event's payload.
  CHECK_FALSE(store::open_event_payload(*ring, sealed, "msg_OTHER"));
  // The projection is minimal: ids, type, amounts, times.
  CHECK(rows[0].membership_id == "mem_Zx12Cv34Bn56Ml");
  CHECK(rows[0].amount_cents == 2999);
  CHECK(rows[0].currency == "usd");
}

TEST_CASE("every answer carries the security headers and a request id") {
  test::TestApp t;
  auto c = t.client();
  for (const char* path : {"/healthz", "/no-such-page"}) {
    auto res = c.Get(path);
    REQUIRE(res);
    CHECK(res->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(res->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'") !=
          std::string::npos);
    CHECK(res->get_header_value("X-Request-Id").size() == 16);
  }
  CHECK(c.Get("/no-such-page")->status == 404);
}
