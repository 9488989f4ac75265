// The dashboard's pages, forms, export and JSON API against the real server with seeded data.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "domain/member.h"
#include "http/dashboard_support.h"
#include "jobs/kinds.h"
#include "store/connection.h"
#include "store/dashboard.h"
#include "store/jobs.h"
#include "store/maintenance.h"
#include "store/settings.h"
#include "support/fake_whop.h"
#include "support/webhook_client.h"
#include "util/tz.h"

using namespace cs;
using nlohmann::json;

namespace {

struct Seeded {
  int open = 0, recovered = 0, lost = 0, cancelled = 0;
};

/// 3 open, 4 recovered (one refunded 999, one with 3 free days), 2 lost, 1 cancelled in the
/// last 30 days; 5 recovered 40 days ago (outside 30, inside 90).
Seeded seed_window(test::TestApp& t, int64_t now) {
  std::vector<store::CaseRow> rows;
  int n = 1;
  auto add = [&](const std::string& status, int64_t days_ago) {
    rows.push_back(test::make_case(test::hex_id(n++), status, now - days_ago * 86400000LL));
  };
  for (int i = 0; i < 3; ++i) add("open", 1 + i);
  for (int i = 0; i < 4; ++i) add("recovered", 5 + i);
  for (int i = 0; i < 2; ++i) add("lost", 10 + i);
  add("cancelled", 12);
  for (int i = 0; i < 5; ++i) add("recovered", 40);
  rows[3].refunded_cents = 999;
  test::seed_cases(t, rows);
  REQUIRE(t.app().writer().run([&](SQLite::Database& db) {
    db.exec("UPDATE cases SET incentive_state = 'granted', incentive_days = 3 WHERE id = '" +
            test::hex_id(5) + "'");
  }));
  return {3, 4, 2, 1};
}

test::DeliveryOptions once(bool bad_signature = false) {
  test::DeliveryOptions d;
  d.bad_signature = bad_signature;
  d.retry = false;
  return d;
}

}  // namespace

TEST_CASE("overview and /api/dashboard/kpis count the window's cases by first failure") {
  test::TestApp t;
  test::set_admin(t);
  int64_t now = SystemClock().now_ms();
  seed_window(t, now);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto api = w.get("/api/dashboard/kpis?window=30");
  REQUIRE(api);
  REQUIRE(api->status == 200);
  auto k = json::parse(api->body);
  CHECK(k["window_days"] == 30);
  CHECK(k["active_cases"] == 3);
  CHECK(k["recoveries"] == 4);
  CHECK(k["lost"] == 2);
  CHECK(k["cancelled"] == 1);
  CHECK(k["recovery_rate"].get<double>() == doctest::Approx(4.0 / 6.0));
  CHECK(k["recovered_revenue"][0]["cents"] == 4 * 2999 - 999);
  CHECK(k["recovered_revenue"][0]["amount"] == "109.97");
  CHECK(k["incentive_days_granted"] == 3);
  auto k90 = json::parse(w.get("/api/dashboard/kpis?window=90")->body);
  CHECK(k90["recoveries"] == 9);
  auto k7 = json::parse(w.get("/api/dashboard/kpis?window=7")->body);
  CHECK(k7["recoveries"] == 2);

  auto page = w.get("/?window=30");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("data-kpi=\"rate\">66.7%") != std::string::npos);
  CHECK(page->body.find("data-kpi=\"revenue\">$109.97") != std::string::npos);
  CHECK(page->body.find("data-kpi=\"active\">3") != std::string::npos);
  CHECK(page->body.find("Recovered ÷ (recovered + lost)") != std::string::npos);
  for (const char* chart :
       {"ch-daily-t", "ch-revenue-t", "ch-attempt-t", "ch-channel-t", "ch-ttr-t"}) {
    INFO(chart);
    CHECK(page->body.find(chart) != std::string::npos);
  }
  CHECK(page->body.find("<svg") != std::string::npos);
}

TEST_CASE("a new install's overview says what to do next") {
  test::TestApp::Options o;
  o.secrets = {};
  test::TestApp t(o);
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/");
  REQUIRE(page);
  CHECK(page->body.find("Getting started") != std::string::npos);
  CHECK(page->body.find("Send a test webhook") != std::string::npos);
  CHECK(page->body.find("No failed payments in the last 30 days") != std::string::npos);
}

TEST_CASE("cases: status filter, search, sort, keyset pagination without duplicates, counts") {
  test::TestApp t;
  test::set_admin(t);
  int64_t now = SystemClock().now_ms();
  std::vector<store::CaseRow> rows;
  for (int i = 1; i <= 120; ++i) {
    auto c = test::make_case(test::hex_id(i), i % 3 == 0 ? "recovered" : "open",
                             now - (i % 40) * 3600000LL);  // ties on purpose
    c.amount_due_cents = 1000 + i;
    rows.push_back(c);
  }
  rows[6].username = "alice_wonder";
  test::seed_cases(t, rows);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  std::set<std::string> ids;
  std::string cursor;
  int pages = 0;
  do {
    auto res = w.get("/api/dashboard/cases?status=open&cursor=" + cursor);
    REQUIRE(res);
    auto j = json::parse(res->body);
    for (const auto& c : j["cases"]) {
      CHECK(c["status"] == "open");
      CHECK(ids.insert(c["id"].get<std::string>()).second);
    }
    CHECK(j["counts"]["open"] == 80);
    CHECK(j["counts"]["recovered"] == 40);
    cursor = j["next_cursor"].is_null() ? "" : j["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  CHECK(ids.size() == 80);
  CHECK(pages == 2);

  auto by_amount = json::parse(w.get("/api/dashboard/cases?sort=amount&limit=3")->body);
  CHECK(by_amount["cases"][0]["amount_due_cents"] == 1120);
  CHECK(by_amount["cases"][2]["amount_due_cents"] == 1118);

  for (const std::string& q :
       std::vector<std::string>{"alice", "alice_wonder", rows[6].user_id, rows[6].membership_id}) {
    auto j = json::parse(w.get("/api/dashboard/cases?q=" + q)->body);
    INFO(q);
    REQUIRE(j["cases"].size() == 1);
    CHECK(j["cases"][0]["id"] == test::hex_id(7));
  }
  auto page = w.get("/cases?status=recovered&q=member");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("aria-current=\"page\">Recovered") != std::string::npos);
  auto html = w.get("/cases");
  CHECK(html->body.find("Next page") != std::string::npos);
  CHECK(html->body.find("1–50 of 120") != std::string::npos);
}

namespace {

/// The database file and its WAL, as one string of bytes.
std::string db_bytes(const test::TestApp& t) {
  std::string out;
  for (const std::string& f : {t.db_path(), t.db_path() + "-wal"}) {
    std::ifstream in(f, std::ios::binary);
    out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

/// The usernames of the cases a search finds, sorted, joined with ",".
std::string found_usernames(test::WebClient& w, const std::string& q) {
  httplib::Params p{{"q", q}};
  auto res = w.get("/api/dashboard/cases?" + httplib::detail::params_to_query_str(p));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  std::vector<std::string> out;
  const auto body = json::parse(res->body);  // kept alive while the loop reads it
  for (const auto& c : body["cases"]) {
    out.push_back(c["username"].get<std::string>());
  }
  std::sort(out.begin(), out.end());
  std::string joined;
  for (const auto& u : out) joined += (joined.empty() ? "" : ",") + u;
  return joined;
}

/// Alice, the member the search tests look for, whose payment failed an hour before `now`.
test::FakeWhop::PaymentSpec alice_spec(int64_t now) {
  test::FakeWhop::PaymentSpec alice;
  alice.payment_id = "pay_Alice0000001";
  alice.membership_id = "mem_Alice0000001";
  alice.user_id = "user_Alice00001";
  alice.username = "wonderland7";
  alice.name = "Alice Martin";
  alice.email = "alice.martin@mailbox.example";
  alice.time_ms = now - 3600000;
  return alice;
}

}  // namespace

TEST_CASE("cases: search by name, email and username fragments; email never stored in plaintext") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop fake(test::kTestSecret);
  fake.set_webhook_target(t.webhook_url());
  const int64_t now = SystemClock().now_ms();
  const auto alice = alice_spec(now);
  test::FakeWhop::PaymentSpec bob = alice;
  bob.payment_id = "pay_Bob000000001";
  bob.membership_id = "mem_Bob000000001";
  bob.user_id = "user_Bob0000001";
  bob.username = "bobby_tables";
  bob.name = "Robert Martinez";
  bob.email = "rob@elsewhere.example";
  for (const auto& s : {alice, bob}) {
    REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.failed", s), once()).status == 200);
  }
  t.drain();
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  CHECK(found_usernames(w, "Martin") == "bobby_tables,wonderland7");  // name fragment
  CHECK(found_usernames(w, "martinez") == "bobby_tables");
  CHECK(found_usernames(w, "ALICE.MARTIN@mailbox") == "wonderland7");  // email fragment
  CHECK(found_usernames(w, "elsewhere") == "bobby_tables");
  CHECK(found_usernames(w, "derla") == "wonderland7");  // username fragment
  CHECK(found_usernames(w, "wo") == "wonderland7");     // short: username prefix
  CHECK(found_usernames(w, "mem_Bob000000001") == "bobby_tables");
  CHECK(found_usernames(w, "nobody@nowhere") == "");
  // The list page counts what the search found.
  auto page = w.get("/cases?q=mailbox");
  REQUIRE(page);
  CHECK(page->body.find("1–1 of 1") != std::string::npos);
  CHECK(page->body.find(">wonderland7</a>") != std::string::npos);
  CHECK(page->body.find("bobby_tables") == std::string::npos);

  // Neither the email nor the name is anywhere in the database file in plaintext.
  t.app().writer().run([](SQLite::Database& db) { db.exec("PRAGMA wal_checkpoint(FULL)"); });
  const std::string bytes = db_bytes(t);
  CHECK(bytes.find("alice.martin@mailbox.example") == std::string::npos);
  CHECK(bytes.find("Alice Martin") == std::string::npos);
  CHECK(bytes.find("mailbox") == std::string::npos);

  // When retention strips the payloads, their search hashes go too.
  REQUIRE(t.app().writer().run([](SQLite::Database& db) {
    std::vector<int64_t> ids;
    SQLite::Statement q(db, "SELECT id FROM events");
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
    store::strip_payloads(db, ids);
  }));
  CHECK(found_usernames(w, "mailbox") == "");
  CHECK(found_usernames(w, "wonder") == "wonderland7");  // the username prefix stays
}

TEST_CASE(
    "cases search: one set of hashes per membership and details, gone with its last payload") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop fake(test::kTestSecret);
  fake.set_webhook_target(t.webhook_url());
  const int64_t now = SystemClock().now_ms();
  const auto alice = alice_spec(now);
  test::FakeWhop::PaymentSpec moved = alice;  // the same member, a new email
  moved.email = "alice@newhome.example";
  test::FakeWhop::PaymentSpec carol = alice;  // another member with the same name and email
  carol.membership_id = "mem_Carol0000001";
  carol.user_id = "user_Carol00001";
  carol.username = "carol_c";
  int n = 0;
  auto deliver = [&](test::FakeWhop::PaymentSpec s) {
    s.payment_id = "pay_" + std::to_string(++n) + "000000000000";
    s.time_ms = now - 3600000 + n * 60000;
    REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.failed", s), once()).status == 200);
  };
  for (int i = 0; i < 3; ++i) deliver(alice);  // Whop's retries repeat the member's details
  deliver(carol);
  deliver(moved);
  t.drain();
  auto count = [&](const std::string& sql) {
    auto db = t.app().reads().lease();
    return db->execAndGet(sql).getInt64();
  };
  auto sets_of = [&](const std::string& membership) {
    return count("SELECT count(*) FROM member_search_sets WHERE membership_id = '" + membership +
                 "'");
  };
  // Alice's three retries wrote their fragments once; her new email made a second set.
  CHECK(sets_of(alice.membership_id) == 2);
  CHECK(sets_of(carol.membership_id) == 1);
  auto fragments = [](const test::FakeWhop::PaymentSpec& s) {
    return static_cast<int64_t>(
        domain::member_trigrams({s.name, s.email, s.username, "", ""}).size());
  };
  CHECK(count("SELECT count(*) FROM member_search_tokens") ==
        fragments(alice) + fragments(moved) + fragments(carol));
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  CHECK(found_usernames(w, "mailbox") == "carol_c,wonderland7");
  CHECK(found_usernames(w, "newhome") == "wonderland7");
  CHECK(found_usernames(w, "Alice Martin") == "carol_c,wonderland7");

  std::vector<int64_t> ids;  // Alice's events, oldest first: three with the old email, one new
  {
    auto db = t.app().reads().lease();
    SQLite::Statement q(*db, "SELECT id FROM events WHERE membership_id = ? ORDER BY id");
    q.bind(1, alice.membership_id);
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
  }
  REQUIRE(ids.size() == 4);
  auto on_writer = [&](auto fn) { REQUIRE(t.app().writer().run(fn)); };
  // Retention strips two of the three payloads with the old email: the third still has it.
  on_writer([&](SQLite::Database& db) { store::strip_payloads(db, {ids[0], ids[1]}); });
  CHECK(found_usernames(w, "mailbox") == "carol_c,wonderland7");
  CHECK(sets_of(alice.membership_id) == 2);
  // The last one goes: so do the hashes of the old email, and only Carol's match it.
  on_writer([&](SQLite::Database& db) { store::strip_payloads(db, {ids[2]}); });
  CHECK(found_usernames(w, "mailbox") == "carol_c");
  CHECK(found_usernames(w, "newhome") == "wonderland7");
  CHECK(sets_of(alice.membership_id) == 1);
  // Deleting the event with the new email takes its set too.
  on_writer([&](SQLite::Database& db) { store::delete_events(db, {ids[3]}); });
  CHECK(found_usernames(w, "newhome") == "");
  CHECK(sets_of(alice.membership_id) == 0);
  // Erasing Carol leaves no hash at all.
  {
    auto db = store::open_for_maintenance(t.db_path());
    CHECK(store::erase_member(*db, carol.user_id, now).events_deleted == 1);
  }
  CHECK(found_usernames(w, "mailbox") == "");
  CHECK(count("SELECT count(*) FROM member_search_sets") == 0);
  CHECK(count("SELECT count(*) FROM member_search_tokens") == 0);
}

TEST_CASE("case page: the member's name, email and card from the payload; who acted") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop fake(test::kTestSecret);
  fake.set_webhook_target(t.webhook_url());
  test::FakeWhop::PaymentSpec s;
  s.name = "Alice Martin";
  s.email = "alice.martin@mailbox.example";
  s.username = "wonderland7";
  s.time_ms = SystemClock().now_ms() - 3600000;
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.failed", s), once()).status == 200);
  t.drain();
  std::string id;
  {
    auto db = t.app().reads().lease();
    auto all = store::list_cases_for_membership(*db, s.membership_id);
    REQUIRE(all.size() == 1);
    id = all[0].id;
  }
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/cases/" + id);
  REQUIRE(page);
  const std::string& b = page->body;
  CHECK(b.find("Alice Martin") != std::string::npos);
  CHECK(b.find(">alice.martin@mailbox.example</a>") != std::string::npos);
  CHECK(b.find("Visa ending in 4242") != std::string::npos);
  CHECK(b.find("https://whop.com/dashboard/biz_") != std::string::npos);
  CHECK(b.find("/users/" + s.user_id + "/") != std::string::npos);
  CHECK(b.find("wonderland7&apos;s payment of $29.99 failed") != std::string::npos);
  CHECK(b.find("Recovery started for wonderland7") != std::string::npos);
  CHECK(b.find("intent") == std::string::npos);
  CHECK(b.find("Intent") == std::string::npos);
  CHECK(b.find("automatic") == std::string::npos);
}

TEST_CASE("cases list: previous page, the range shown, lost reason, no amount due when recovered") {
  test::TestApp t;
  test::set_admin(t);
  const int64_t now = SystemClock().now_ms();
  std::vector<store::CaseRow> rows;
  for (int i = 1; i <= 54; ++i) {
    rows.push_back(test::make_case(test::hex_id(i),
                                   i == 1   ? "lost"
                                   : i == 2 ? "recovered"
                                            : "open",
                                   now - i * 3600000LL));
  }
  rows[1].amount_due_cents = 123456;  // recovered: what was due is not shown
  rows[1].recovered_cents = 4999;
  test::seed_cases(t, rows);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto first = w.get("/cases");
  REQUIRE(first);
  CHECK(first->body.find("1–50 of 54") != std::string::npos);
  CHECK(first->body.find("Previous page") == std::string::npos);
  CHECK(first->body.find("Whop ended the membership") != std::string::npos);  // lost row
  CHECK(first->body.find("$1,234.56") == std::string::npos);
  CHECK(first->body.find("$49.99") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(first->body, m,
                            std::regex(R"re(href="(/cases\?cursor=[^"]+)" rel="next")re")));
  auto second = w.get(m[1].str());
  REQUIRE(second);
  CHECK(second->body.find("51–54 of 54") != std::string::npos);
  CHECK(second->body.find("Next page") == std::string::npos);
  REQUIRE(std::regex_search(second->body, m,
                            std::regex(R"re(href="(/cases\?before=[^"]+)" rel="prev")re")));
  auto back = w.get(m[1].str());
  REQUIRE(back);
  CHECK(back->body.find("1–50 of 54") != std::string::npos);
  CHECK(back->body.find(test::hex_id(1)) != std::string::npos);
  CHECK(back->body.find(test::hex_id(50)) != std::string::npos);
  CHECK(back->body.find(test::hex_id(51)) == std::string::npos);
  // Sorting applies on change (app.js) and, without script, with the form's one button.
  CHECK(first->body.find("data-autosubmit") != std::string::npos);
  CHECK(first->body.find(">Apply<") == std::string::npos);
}

TEST_CASE("case page: timeline, confirmation step, and the action's result after redirect") {
  test::TestApp t;
  test::set_admin(t);
  int64_t now = SystemClock().now_ms();
  auto c = test::make_case(test::hex_id(42), "open", now - 3600000);
  c.failure_message = "Your card was declined.";
  test::seed_cases(t, {c});
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/cases/" + c.id);
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("Your card was declined.") != std::string::npos);
  CHECK(page->body.find("/cases/" + c.id + "/actions/") == std::string::npos);  // no form yet
  auto confirm = w.get("/cases/" + c.id + "?confirm=cancel");
  REQUIRE(confirm);
  CHECK(confirm->body.find("action=\"/cases/" + c.id + "/actions/cancel\"") != std::string::npos);
  auto done = w.post("/cases/" + c.id + "/actions/cancel", {{"csrf_token", w.csrf()}});
  REQUIRE(done);
  CHECK(done->status == 303);
  CHECK(done->get_header_value("Location") == "/cases/" + c.id);
  auto after = w.get("/cases/" + c.id);
  CHECK(after->body.find("Case cancelled") != std::string::npos);
  CHECK(after->body.find("badge-cancelled") != std::string::npos);
  CHECK(after->body.find("Case cancelled · ") == std::string::npos);
  // The timeline says who acted, in the creator's words.
  CHECK(after->body.find("You cancelled the case") != std::string::npos);
  CHECK(after->body.find("by admin") == std::string::npos);
  // Shown once (post/redirect/get).
  CHECK(w.get("/cases/" + c.id)->body.find("Case cancelled:") == std::string::npos);
  // An action that cannot apply says why.
  w.post("/cases/" + c.id + "/actions/nudge", {{"csrf_token", w.csrf()}});
  CHECK(w.get("/cases/" + c.id)->body.find("only open cases can be nudged") != std::string::npos);
  CHECK(w.get("/cases/ffffffffffffffffffffffffffffffff")->status == 404);
}

TEST_CASE("settings: 400 with the message next to the field and the typed values kept") {
  test::TestApp t;
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto bad = w.post("/settings/recovery", {{"csrf_token", w.csrf()},
                                           {"push_enabled", "1"},
                                           {"reminder_offsets_days", "0, 4, 2"},
                                           {"incentive_days", "45"},
                                           {"attribution_window_days", "14"},
                                           {"payload_retention_days", "30"},
                                           {"event_retention_days", "60"},
                                           {"processing_enabled", "1"},
                                           {"scheduler_enabled", "1"},
                                           {"notifications_enabled", "1"}});
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("id=\"incentive_days-error\">Free days must be between 0 (off) and 30.") !=
        std::string::npos);
  CHECK(bad->body.find("id=\"reminder_offsets_days-error\">Reminder days must increase") !=
        std::string::npos);
  CHECK(bad->body.find("value=\"45\"") != std::string::npos);
  CHECK(bad->body.find("value=\"0, 4, 2\"") != std::string::npos);
  CHECK(bad->body.find("aria-invalid=\"true\"") != std::string::npos);
  CHECK(t.app().stored_settings().incentive_days == 3);  // nothing saved

  auto ok = w.post("/settings/recovery", {{"csrf_token", w.csrf()},
                                          {"dm_enabled", "1"},
                                          {"reminder_offsets_days", "0, 1, 3, 5"},
                                          {"incentive_days", "7"},
                                          {"attribution_window_days", "10"},
                                          {"payload_retention_days", "20"},
                                          {"event_retention_days", "40"},
                                          {"processing_enabled", "1"},
                                          {"scheduler_enabled", "1"}});
  REQUIRE(ok);
  CHECK(ok->status == 303);
  auto s = t.app().settings();
  CHECK(s.incentive_days == 7);
  CHECK(s.attribution_window_days == 10);
  CHECK(s.reminder_offsets_days == std::vector<int>{0, 1, 3, 5});
  CHECK_FALSE(s.push_enabled);
  CHECK_FALSE(s.notifications_enabled);  // the kill switch
  {
    auto db = t.app().reads().lease();
    auto r = store::find_retention(*db);
    CHECK(r.payload_days == 20);
    SQLite::Statement q(*db,
                        "SELECT count(*) FROM recovery_actions WHERE type = 'settings_changed'");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getInt() == 1);
  }
  CHECK(w.get("/settings")->body.find("Recovery settings saved") != std::string::npos);
}

TEST_CASE("Whop connection from the dashboard: sealed at rest, in force without a restart") {
  test::FakeWhop fake(test::kTestSecret, "dash_key_123");
  test::TestApp::Options o;
  o.secrets = {};
  o.configure = [&](app::Config& c) { c.whop_api_base = fake.api_base(); };
  test::TestApp t(o);
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  // No secret yet: webhooks are refused with 503.
  fake.set_webhook_target(t.webhook_url());
  auto ev = test::FakeWhop::payment_event("payment.failed", {});
  CHECK(fake.deliver(ev, once()).status == 503);

  auto bad = w.post("/settings/connection", {{"csrf_token", w.csrf()}, {"company_id", "acme"}});
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("id=\"company_id-error\"") != std::string::npos);

  auto ok = w.post("/settings/connection", {{"csrf_token", w.csrf()},
                                            {"api_key", "dash_key_123"},
                                            {"webhook_secrets", test::kTestSecret},
                                            {"company_id", "biz_Test123"},
                                            {"experience_id", "exp_Test123"},
                                            {"public_url", "https://cs.example.com/"}});
  REQUIRE(ok);
  CHECK(ok->status == 303);
  auto conn = t.app().connection();
  CHECK(conn.api_key == "dash_key_123");
  CHECK(conn.public_url == "https://cs.example.com");
  {
    auto db = t.app().reads().lease();
    auto raw = store::find_setting(*db, "whop_connection");
    REQUIRE(raw);
    CHECK(raw->find("dash_key_123") == std::string::npos);
    CHECK(raw->find("biz_Test123") == std::string::npos);
  }
  // Webhooks now verify with the new secret; the key reaches Whop.
  CHECK(fake.deliver(test::FakeWhop::payment_event("payment.failed", {}), once()).status == 200);
  auto check = w.post("/settings/check", {{"csrf_token", w.csrf()}});
  REQUIRE(check);
  CHECK(check->status == 303);
  auto page = w.get("/settings");
  CHECK(page->body.find("Whop answered") != std::string::npos);
  CHECK(page->body.find("dash_key_123") == std::string::npos);  // masked
  CHECK(page->body.find("Currently set, ending in _123.") != std::string::npos);
}

namespace {
/// The messages form as the page sends it: every step's copy (the defaults) with `changes`.
httplib::Params messages_form(const std::string& csrf, const std::string& action,
                              const std::map<std::string, std::string>& changes) {
  httplib::Params p{{"csrf_token", csrf}, {"action", action}};
  domain::MessageCopy defaults;
  std::map<std::string, std::string> fields;
  for (auto s : domain::kNudgeSteps) {
    for (const char* f : domain::kCopyFields) {
      fields[domain::copy_key(s, f)] = domain::copy_field(defaults.step(s), f);
    }
  }
  for (const auto& [k, v] : changes) fields[k] = v;
  for (const auto& [k, v] : fields) p.emplace(k, v);
  return p;
}
}  // namespace

TEST_CASE("messages: copy per step and failure kind, previews as sent, validation, save") {
  test::TestApp t;
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/messages");
  REQUIRE(page);
  // Every step has its own copy and preview; the DM preview renders the markdown.
  CHECK(page->body.find("First notice") != std::string::npos);
  CHECK(page->body.find("Final notice") != std::string::npos);
  CHECK(page->body.find("name=\"final.dm_content\"") != std::string::npos);
  CHECK(page->body.find("name=\"expired_card.final.dm_content\"") != std::string::npos);
  CHECK(page->body.find("Hi Alex! Your payment of $29.99 for <strong>Pro Trading "
                        "Community</strong>") != std::string::npos);
  CHECK(page->body.find("<strong>3 free days</strong>") != std::string::npos);

  auto prev = w.post("/messages", messages_form(w.csrf(), "preview",
                                                {{"first.push_title", "Hey {{name}}"},
                                                 {"final.dm_content",
                                                  "**Last** call, _{{name}}_ <script>x</script> by "
                                                  "{{deadline}}: [update]({{manage_url}})"}}));
  REQUIRE(prev);
  CHECK(prev->status == 200);
  CHECK(prev->body.find("id=\"preview-first-push_title\">Hey Alex<") != std::string::npos);
  CHECK(
      prev->body.find("<strong>Last</strong> call, <em>Alex</em> &lt;script&gt;x&lt;/script&gt;") !=
      std::string::npos);
  CHECK(prev->body.find("<script>x") == std::string::npos);
  CHECK(prev->body.find(
            "<a href=\"https://whop.com/…/manage\" rel=\"nofollow noopener\">update</a>") !=
        std::string::npos);
  CHECK(t.app().stored_settings().copy.step(domain::NudgeStep::First).push_title != "Hey {{name}}");

  // Preview as an expired card: the category's DM replaces the final notice's DM.
  auto as_expired = w.post("/messages", [&] {
    auto f = messages_form(w.csrf(), "preview",
                           {{"expired_card.final.dm_content", "Card expired, {{name}}"}});
    f.emplace("preview_category", "expired_card");
    return f;
  }());
  REQUIRE(as_expired);
  CHECK(as_expired->body.find("id=\"preview-final-dm_content\">Card expired, Alex<") !=
        std::string::npos);

  auto bad =
      w.post("/messages", messages_form(w.csrf(), "save",
                                        {{"reminder.push_title", "Hey {{nmae}}"},
                                         {"final.dm_content", ""},
                                         {"declined.first.dm_content", "{{#incentive_days}}x"}}));
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("id=\"reminder-push_title-error\">Unknown placeholder") !=
        std::string::npos);
  CHECK(bad->body.find("id=\"final-dm_content-error\">The message cannot be empty.") !=
        std::string::npos);
  CHECK(bad->body.find("id=\"declined-first-dm_content-error\">The section") != std::string::npos);
  CHECK(bad->body.find("Hey {{nmae}}") != std::string::npos);  // what was typed is kept

  auto ok = w.post("/messages", messages_form(w.csrf(), "save",
                                              {{"final.push_title", "Last call {{name}}"},
                                               {"insufficient_funds.final.dm_content", "Funds"}}));
  REQUIRE(ok);
  CHECK(ok->status == 303);
  auto stored = t.app().stored_settings().copy;
  CHECK(stored.step(domain::NudgeStep::Final).push_title == "Last call {{name}}");
  CHECK(
      stored.by_category.at({domain::FailureCategory::InsufficientFunds, domain::NudgeStep::Final})
          .dm_content == "Funds");
  CHECK(stored.by_category.size() == 1);
}

TEST_CASE("events: rejected deliveries counted by reason, payload decrypted, replay") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop fake(test::kTestSecret);
  fake.set_webhook_target(t.webhook_url());
  auto ev = test::FakeWhop::payment_event("payment.failed", {});
  CHECK(fake.deliver(ev, once(true)).status == 401);
  CHECK(fake.deliver(ev, once(true)).status == 401);
  CHECK(fake.deliver(ev, once()).status == 200);
  t.drain();
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/events");
  REQUIRE(page);
  CHECK(page->body.find("Bad signature") != std::string::npos);
  CHECK(page->body.find(">payment.failed</a>") != std::string::npos);
  CHECK(t.app().webhook_stats().total_rejected() == 2);
  int64_t id = 0;
  {
    auto db = t.app().reads().lease();
    id = store::list_recent_events(*db, 1).at(0).id;
  }
  auto detail = w.get("/events/" + std::to_string(id));
  REQUIRE(detail);
  CHECK(detail->body.find("john.doe@example.com") != std::string::npos);  // decrypted payload
  auto replay = w.post("/events/" + std::to_string(id) + "/replay", {{"csrf_token", w.csrf()}});
  CHECK(replay->status == 303);
  {
    auto db = t.app().reads().lease();
    // (The case's nudge and incentive jobs wait too: this app has no Whop API key.)
    auto jobs = store::list_jobs(*db, "queued", 10);
    std::erase_if(jobs,
                  [](const store::Job& j) { return j.last_error == store::kWaitingForApiKey; });
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].kind == "process_event");
  }
}

TEST_CASE("jobs: dead jobs show their error and can be retried") {
  test::TestApp t;
  test::set_admin(t);
  int64_t now = SystemClock().now_ms();
  int64_t id = 0;
  REQUIRE(t.app().writer().run([&](SQLite::Database& db) {
    store::NewJob j;
    j.kind = "nudge";
    j.run_at = now;
    j.max_attempts = 1;
    id = *store::enqueue_job(db, j, now);
    store::claim_jobs(db, now, 1000, 10);
    store::fail_job(db, id, "Whop said: membership not found", now, std::nullopt);
  }));
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/jobs?state=dead");
  REQUIRE(page);
  CHECK(page->body.find("Whop said: membership not found") != std::string::npos);
  // A dead job will not run again unless retried: no "Next run" (it said "just now").
  CHECK(page->body.find("data-label=\"Next run\"") == std::string::npos);
  auto retry = w.post("/jobs/" + std::to_string(id) + "/retry", {{"csrf_token", w.csrf()}});
  CHECK(retry->status == 303);
  auto db = t.app().reads().lease();
  CHECK(store::find_job(*db, id)->state == "queued");
}

TEST_CASE("jobs: a job deferred until the member's webhooks settle reads as waiting, not failing") {
  test::TestApp t;
  test::set_admin(t);
  int64_t now = SystemClock().now_ms();
  REQUIRE(t.app().writer().run([&](SQLite::Database& db) {
    store::NewJob j;
    j.kind = "nudge";
    j.run_at = now;
    const int64_t id = *store::enqueue_job(db, j, now);
    store::claim_jobs(db, now, 1000, 10);
    store::defer_job(db, id, now + 600000, now, "backlog_settling");
  }));
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/jobs?state=queued");
  REQUIRE(page);
  CHECK(page->body.find("Waiting for late webhooks to settle") != std::string::npos);
  CHECK(page->body.find("backlog_settling") == std::string::npos);
  CHECK(page->body.find("data-label=\"Error\"") == std::string::npos);
}

TEST_CASE("CSV export: streamed, RFC 4180, formula-safe, filters apply, amounts in units") {
  test::TestApp t;
  test::set_admin(t);
  int64_t now = SystemClock().now_ms();
  std::vector<store::CaseRow> rows;
  for (int i = 1; i <= 2500; ++i) {
    rows.push_back(
        test::make_case(test::hex_id(i), i % 2 ? "recovered" : "open", now - i * 60000LL));
  }
  rows[0].username = "=HYPERLINK(\"http://evil\")";
  rows[2].username = "comma, \"quoted\"";
  rows[4].product_title = "@SUM(A1)";
  test::seed_cases(t, rows);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto res = w.get("/cases/export.csv?status=recovered");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type").rfind("text/csv", 0) == 0);
  CHECK(res->get_header_value("Content-Disposition").rfind("attachment; filename=", 0) == 0);
  CHECK(res->get_header_value("Transfer-Encoding") == "chunked");
  const std::string& body = res->body;
  CHECK(body.rfind("case_id,status,resolution,membership_id,user_id,username,product,", 0) == 0);
  size_t lines = 0;
  for (size_t p = body.find("\r\n"); p != std::string::npos; p = body.find("\r\n", p + 2)) ++lines;
  CHECK(lines == 1 + 1250);
  CHECK(body.find(",open,") == std::string::npos);
  CHECK(body.find("\"'=HYPERLINK(\"\"http://evil\"\")\"") != std::string::npos);
  CHECK(body.find("\"comma, \"\"quoted\"\"\"") != std::string::npos);
  CHECK(body.find(",'@SUM(A1),") != std::string::npos);
  CHECK(body.find(",29.99,usd,29.99,0.00,29.99,") != std::string::npos);
  auto searched = w.get("/cases/export.csv?q=" + rows[2].user_id);
  size_t n = 0;
  for (size_t p = searched->body.find("\r\n"); p != std::string::npos;
       p = searched->body.find("\r\n", p + 2))
    ++n;
  CHECK(n == 2);
}

TEST_CASE("rate limits answer 429 with Retry-After, X-RateLimit-* and a page saying when") {
  test::TestApp t;
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  for (int i = 0; i < 10; ++i) {
    auto res = w.get("/cases/export.csv");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    CHECK(res->get_header_value("X-RateLimit-Limit") == "10");
    CHECK(res->get_header_value("X-RateLimit-Remaining") == std::to_string(9 - i));
  }
  auto limited = w.get("/cases/export.csv");
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(std::stoi(limited->get_header_value("Retry-After")) >= 1);
  CHECK(limited->get_header_value("X-RateLimit-Remaining") == "0");
  CHECK(!limited->get_header_value("X-RateLimit-Reset").empty());
  CHECK(limited->body.find("Please try again in") != std::string::npos);
  for (int i = 0; i < 120; ++i) w.get("/api/dashboard/kpis");
  auto api = w.get("/api/dashboard/kpis");
  CHECK(api->status == 429);
  CHECK(json::parse(api->body)["error"]["code"] == "rate_limited");
}

TEST_CASE("a payment after the window shows on the case and is counted on the overview") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop fake(test::kTestSecret);
  fake.set_webhook_target(t.webhook_url());
  const int64_t now = SystemClock().now_ms(), day = 86400000;
  test::FakeWhop::PaymentSpec failed;
  failed.payment_id = "pay_Late000000001";
  failed.time_ms = now - 20 * day;
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.failed", failed), once()).status ==
          200);
  test::FakeWhop::PaymentSpec paid = failed;
  paid.payment_id = "pay_Late000000002";
  paid.time_ms = failed.time_ms + 16 * day + day / 2;  // 16.5 days after the first failure
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.succeeded", paid), once()).status ==
          200);
  t.drain();
  store::CaseRow c;
  {
    auto db = t.app().reads().lease();
    auto all = store::list_cases_for_membership(*db, failed.membership_id);
    REQUIRE(all.size() == 1);
    c = all[0];
  }
  CHECK(c.status == domain::CaseStatus::Lost);
  CHECK(c.resolution == domain::Resolution::Expired);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/cases/" + c.id);
  REQUIRE(page);
  CHECK(page->body.find("paid 16.5 days after the first failure: outside the 14-day window, not "
                        "counted as recovered") != std::string::npos);
  auto overview = w.get("/?window=30");
  REQUIRE(overview);
  CHECK(overview->status == 200);
  auto at = overview->body.find("Paid after the window");
  REQUIRE(at != std::string::npos);
  CHECK(overview->body.find("data-kpi=\"paid-late\">1<", at) != std::string::npos);
}

TEST_CASE("a member who buys the product again after the window counts as paid after the window") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop fake(test::kTestSecret);
  fake.set_webhook_target(t.webhook_url());
  const int64_t now = SystemClock().now_ms(), day = 86400000;
  test::FakeWhop::PaymentSpec failed;
  failed.payment_id = "pay_Rebuy00000001";
  failed.membership_id = "mem_RebuyOld00001";
  failed.time_ms = now - 25 * day;
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.failed", failed), once()).status ==
          200);
  // Whop cancels the membership after its retries; 17 days after the failure the member buys the
  // same product again under a new membership: too late to count as recovered.
  REQUIRE(
      fake.deliver(test::FakeWhop::membership_event("membership.deactivated", failed.membership_id,
                                                    failed.user_id, failed.time_ms + 5 * day),
                   once())
          .status == 200);
  test::FakeWhop::PaymentSpec rebuy = failed;
  rebuy.payment_id = "pay_Rebuy00000002";
  rebuy.membership_id = "mem_RebuyNew00001";
  rebuy.time_ms = failed.time_ms + 17 * day;
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.succeeded", rebuy), once()).status ==
          200);
  t.drain();
  {
    auto db = t.app().reads().lease();
    auto all = store::list_cases_for_membership(*db, failed.membership_id);
    REQUIRE(all.size() == 1);
    CHECK(all[0].status == domain::CaseStatus::Lost);
    CHECK(all[0].resolution == domain::Resolution::Deactivated);
  }
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto overview = w.get("/?window=30");
  REQUIRE(overview);
  auto at = overview->body.find("Paid after the window");
  REQUIRE(at != std::string::npos);
  CHECK(overview->body.find("data-kpi=\"paid-late\">1<", at) != std::string::npos);
}

TEST_CASE("overview: each KPI against the previous period; at risk and lost revenue; time zone") {
  test::TestApp t;
  test::set_admin(t);
  int64_t now = SystemClock().now_ms();
  seed_window(t, now);  // 5 recovered 40 days ago: the previous 30 days
  REQUIRE(t.app().writer().run([&](SQLite::Database& db) {
    db.exec("UPDATE cases SET amount_due_cents = 123456 WHERE id = '" + test::hex_id(1) + "'");
  }));
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/?window=30");
  REQUIRE(page);
  const std::string& b = page->body;
  CHECK(b.find("data-kpi=\"recoveries\">4<") != std::string::npos);
  CHECK(b.find("data-kpi-change=\"recoveries\">Down 1 from 5 in the previous 30 days<") !=
        std::string::npos);
  CHECK(b.find("data-kpi-change=\"active\">Up 3 from 0 in the previous 30 days<") !=
        std::string::npos);
  CHECK(b.find("data-kpi-change=\"revenue\">Down $39.98 from $149.95 in the previous 30 days<") !=
        std::string::npos);
  // Still at risk (open: 1,234.56 + 2 x 29.99) and lost (2 x 29.99), with thousands separators.
  CHECK(b.find("data-kpi=\"at-risk\">$1,294.54<") != std::string::npos);
  CHECK(b.find("data-kpi=\"lost-revenue\">$59.98<") != std::string::npos);
  // Charts name their axes and label about seven days.
  CHECK(b.find(">Cases</text>") != std::string::npos);
  CHECK(b.find(">Day (UTC)</text>") != std::string::npos);

  // The time zone: refused when it is not one, then used for times and daily buckets.
  auto bad =
      w.post("/settings/time-zone", {{"csrf_token", w.csrf()}, {"time_zone", "Mars/Olympus"}});
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("There is no time zone called") != std::string::npos);
  auto ok =
      w.post("/settings/time-zone", {{"csrf_token", w.csrf()}, {"time_zone", "Asia/Kathmandu"}});
  REQUIRE(ok);
  CHECK(ok->status == 303);
  auto zoned = w.get("/?window=30");
  CHECK(zoned->body.find(">Day (Asia/Kathmandu)</text>") != std::string::npos);
  auto c = w.get("/cases/" + test::hex_id(2));
  REQUIRE(c);
  CHECK(std::regex_search(c->body, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d \+0545)")));
  CHECK(c->body.find(" UTC<") == std::string::npos);
  // Days start at local midnight (18:15 UTC in Kathmandu).
  auto zone = tz::find("Asia/Kathmandu");
  REQUIRE(zone);
  auto db = t.app().reads().lease();
  auto charts = store::list_chart_series(*db, now - 30 * 86400000LL, now, **zone);
  REQUIRE(!charts.days.empty());
  for (const auto& d : charts.days)
    CHECK(((d.day_start % 86400000) + 86400000) % 86400000 == 65700000);
  int64_t failures = 0;
  for (const auto& d : charts.days) failures += d.failures;
  CHECK(failures == 10);
}

TEST_CASE("events page: own time beside arrival, filters by type and member, link to the case") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop fake(test::kTestSecret);
  fake.set_webhook_target(t.webhook_url());
  const int64_t now = SystemClock().now_ms();
  test::FakeWhop::PaymentSpec a;
  a.payment_id = "pay_EvA000000001";
  a.membership_id = "mem_EvA000000001";
  a.user_id = "user_EvA0000001";
  a.username = "anna_events";
  a.time_ms = now - 3 * 3600000;  // arrives three hours late
  test::FakeWhop::PaymentSpec b = a;
  b.payment_id = "pay_EvB000000001";
  b.membership_id = "mem_EvB000000001";
  b.user_id = "user_EvB0000001";
  b.username = "ben_events";
  b.time_ms = now - 60000;
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.failed", a), once()).status == 200);
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.failed", b), once()).status == 200);
  test::FakeWhop::PaymentSpec paid = b;
  paid.payment_id = "pay_EvB000000002";
  paid.time_ms = now;
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.succeeded", paid), once()).status ==
          200);
  t.drain();
  std::string case_b;
  {
    auto db = t.app().reads().lease();
    case_b = store::list_cases_for_membership(*db, b.membership_id).at(0).id;
  }
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto all = w.get("/events");
  REQUIRE(all);
  CHECK(all->body.find("<th scope=\"col\">Happened</th>") != std::string::npos);
  CHECK(all->body.find("arrived 3 hours later") != std::string::npos);
  CHECK(all->body.find("href=\"/cases/" + case_b + "\">Open the case</a>") != std::string::npos);
  auto by_type = w.get("/events?type=payment.succeeded");
  REQUIRE(by_type);
  CHECK(by_type->body.find(">payment.succeeded</a>") != std::string::npos);
  CHECK(by_type->body.find(">payment.failed</a>") == std::string::npos);
  auto by_member = w.get("/events?member=anna_events");
  REQUIRE(by_member);
  CHECK(by_member->body.find(a.membership_id) != std::string::npos);
  CHECK(by_member->body.find(b.membership_id) == std::string::npos);
  auto by_id = w.get("/events?member=" + b.membership_id + "&type=payment.failed");
  CHECK(by_id->body.find(b.membership_id) != std::string::npos);
  CHECK(by_id->body.find(">payment.succeeded</a>") == std::string::npos);
  // Odd input is ignored, not searched.
  CHECK(w.get("/events?member=%27%20OR%201%3D1&type=%3Cx%3E")->status == 200);
}

TEST_CASE("jobs page: human names linked to the case, paged") {
  test::TestApp t;
  test::set_admin(t);
  const int64_t now = SystemClock().now_ms();
  auto c = test::make_case(test::hex_id(77), "open", now - 3600000);
  c.username = "alice";
  test::seed_cases(t, {c});
  REQUIRE(t.app().writer().run([&](SQLite::Database& db) {
    for (int i = 0; i < 60; ++i) {
      store::enqueue_job(
          db,
          jobs::make_job(jobs::NudgeJob{c.id, std::to_string(i), {i % 2 ? "dm" : "push"}, "system"},
                         now, std::nullopt),
          now);
    }
  }));
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/jobs");
  REQUIRE(page);
  CHECK(page->body.find("href=\"/cases/" + c.id + "\">Push to alice (reminder 59)</a>") !=
        std::string::npos);
  CHECK(page->body.find("Direct message to alice") != std::string::npos);
  CHECK(page->body.find("(reminder 1)") == std::string::npos);  // on the next page
  std::smatch m;
  REQUIRE(
      std::regex_search(page->body, m, std::regex(R"re(href="(/jobs\?before=\d+)" rel="next")re")));
  auto older = w.get(m[1].str());
  REQUIRE(older);
  CHECK(older->body.find("Push to alice (reminder 1)</a>") != std::string::npos);
  CHECK(older->body.find("Newest jobs") != std::string::npos);
  CHECK(older->body.find("rel=\"next\"") == std::string::npos);
}

TEST_CASE("webhook rejection counts survive a restart") {
  test::TempDir dir;
  test::TestApp::Options o;
  o.db_path = dir.file("cs.db");
  {
    test::TestApp t(o);
    test::FakeWhop fake(test::kTestSecret);
    fake.set_webhook_target(t.webhook_url());
    auto ev = test::FakeWhop::payment_event("payment.failed", {});
    for (int i = 0; i < 3; ++i) CHECK(fake.deliver(ev, once(true)).status == 401);
  }
  test::TestApp t(o);
  CHECK(t.app().webhook_stats().total_rejected() == 3);
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/events");
  REQUIRE(page);
  CHECK(page->body.find("Bad signature") != std::string::npos);
  CHECK(page->body.find(">3</td>") != std::string::npos);
}
