#pragma once
// One view model per dashboard page and the function that renders it (inside the layout). The
// HTTP layer gathers the data (store queries), the view decides how it reads.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/member.h"
#include "domain/settings.h"
#include "store/cases.h"
#include "store/dashboard.h"
#include "store/engine.h"
#include "store/events.h"
#include "store/experiments.h"
#include "store/jobs.h"
#include "view/render.h"

namespace cs::view {

// --- Overview (/) ----------------------------------------------------------------------------
struct OverviewModel {
  int window_days = 30;
  int64_t now = 0;
  int64_t since = 0;
  store::Kpis kpis;
  store::Kpis previous;  // the same length of time just before `since`
  store::ChartSeries charts;
  bool connected = false;   // API key and company id are set
  bool has_secret = false;  // a webhook secret is set
  bool any_events = false;
  std::string webhook_url;  // where Whop should send webhooks
  // Getting started: each step ticks itself off once it has worked.
  bool real_webhook = false;  // a webhook from Whop (not the settings page's test) was stored
  bool test_webhook = false;  // the settings page's test webhook went through
  bool nudge_sent = false;    // a push or DM reached Whop
};
std::string overview_page(const Chrome& c, const OverviewModel& m);
/// The KPI tiles as JSON-ready numbers (shared with /api/dashboard/kpis).
struct KpiFigures {
  int64_t active = 0, recovered = 0, lost = 0, cancelled = 0;
  std::optional<double> recovery_rate;  // recovered / (recovered + lost)
};
KpiFigures kpi_figures(const store::Kpis& k);

// --- Cases (/cases, /cases/{id}) --------------------------------------------------------------
struct CasesModel {
  store::CaseQuery query;
  store::CasePage page;
  std::map<domain::CaseStatus, int64_t> counts;  // by status, for the query's search
  int64_t now = 0;
};
std::string cases_page(const Chrome& c, const CasesModel& m);

struct CaseModel {
  store::CaseDetail detail;
  std::vector<store::EventRow> events;
  std::vector<store::Action> actions;
  std::vector<store::SendRow> sends;
  std::string confirm;  // "" or the action awaiting confirmation ("nudge", "cancel", ...)
  int64_t now = 0;
  int64_t window_ms = 14LL * 86400000;  // the attribution window in force
  std::optional<store::CaseArm> arm;    // its experiment arm (or the holdout), if any
  /// Name, email and card, decrypted from the stored payloads just for this page (empty once
  /// retention removed them).
  domain::MemberDetails member;
  std::string whop_member_url;  // the member in the Whop dashboard ("" without a company id)
};
std::string case_page(const Chrome& c, const CaseModel& m);
/// The case actions: key -> (button label, what it does).
struct CaseAction {
  std::string key, label, explain;
  bool danger = false;
  bool domain::CaseActions::*permits = nullptr;  // which of domain::allowed_actions() allows it
  bool allowed(const domain::CaseActions& a) const { return permits && a.*permits; }
};
const std::vector<CaseAction>& case_actions();

// --- Settings (/settings) and messages (/messages) ---------------------------------------------
struct SettingsModel {
  // Connection: masked secrets ("" when not set) and plain ids.
  std::string api_key_masked, secrets_masked;
  std::string company_id, experience_id, public_url;
  std::string api_base;
  // Recovery form values as typed (kept on errors) and errors per field.
  std::map<std::string, std::string> values;
  std::map<std::string, bool> checks;  // checkbox states
  domain::FieldErrors errors;
  // Kill switches forced off by the environment.
  bool env_processing_off = false, env_scheduler_off = false, env_notifications_off = false;
  std::string check_result;  // the last "check connection" answer (flash)
  // Connecting Whop: the URL to paste into Whop (public URL + /webhooks/whop, "" without one),
  // why Whop cannot post to the public URL in force ("" when it can), and the answers of
  // "Check connection" and "Send a test webhook", shown next to their buttons.
  std::string webhook_url, public_url_problem;
  bool has_api_key = false, has_secret = false;
  std::string check_kind, check_text;  // kind "ok" | "error"
  std::string test_kind, test_text;
};
std::string settings_page(const Chrome& c, const SettingsModel& m);

struct MessagesModel {
  domain::MessageCopy copy;
  domain::FieldErrors errors;  // keyed by domain::copy_key()
  bool push_enabled = true, dm_enabled = true;
  int incentive_days = 0;  // the settings' free days: what {{incentive_days}} shows
  std::vector<int> offsets_days = {0, 2, 4};  // the schedule: which days each step is sent
  int64_t now = 0;                            // the sample deadline counts from a failure now
  domain::FailureCategory preview_category = domain::FailureCategory::Other;
};
std::string messages_page(const Chrome& c, const MessagesModel& m);
/// The sample values the preview uses.
std::map<std::string, std::string> preview_values(int incentive_days, int64_t now);

// --- Events (/events, /events/{id}) and jobs (/jobs) ---------------------------------------------
struct Rejection {
  std::string reason;
  int status = 0;
  uint64_t count = 0;
  int64_t last_at = 0;
};
struct EventsModel {
  std::vector<store::EventRow> rows;
  std::map<int64_t, std::string> case_of;  // event id -> its case ("" none)
  store::EventFilter filter;
  std::string state;  // filter (= filter.state)
  std::map<std::string, int64_t> unsettled;
  int64_t total = 0;
  std::vector<Rejection> rejections;
  int64_t next_before = 0;  // 0 = last page
  int64_t now = 0;
};
std::string events_page(const Chrome& c, const EventsModel& m);

struct EventModel {
  store::EventRow row;
  std::string payload;        // pretty-printed JSON, "" when stripped
  std::string payload_error;  // why it cannot be shown
};
std::string event_page(const Chrome& c, const EventModel& m);

struct JobLabel {
  std::string name;     // "Push to alice", "Process payment.failed"
  std::string case_id;  // the case it acts for ("" none)
  std::string href;     // where the name links to ("" none)
};
struct JobsModel {
  std::vector<store::Job> rows;
  std::vector<JobLabel> labels;  // parallel to rows
  int64_t next_before = 0;       // 0 = last page
  bool paged = false;            // not the first page
  std::string state;
  std::map<std::string, int64_t> counts;
  int64_t now = 0;
};
std::string jobs_page(const Chrome& c, const JobsModel& m);

// --- Sign-in and messages ------------------------------------------------------------------------
/// The sign-in page; with `no_admin` (no password set yet) it says how to set one instead
/// (the setup link's file, an SSH tunnel to `port`, a new link, the CLI).
std::string login_page(const std::string& csrf, const std::string& next, const std::string& error,
                       bool no_admin = false, int port = 8080);
std::string setup_page(const std::string& token, const std::string& csrf, const std::string& error,
                       bool valid);
/// A plain page with a heading and a paragraph (errors, 404, "too many requests").
std::string message_page(const Chrome& c, const std::string& heading, const std::string& text,
                         const std::string& link_href = "", const std::string& link_text = "");

/// A page for a person who reached an error (404 and others) in a browser: what happened and a
/// way back. Signed-out chrome (no navigation), so it needs no session.
std::string error_page(int status, const std::string& heading, const std::string& text,
                       const std::string& link_href, const std::string& link_text);
/// /api/health for a browser: the same document as readable tables.
std::string health_page(const nlohmann::json& health);

}  // namespace cs::view
