// The events page (recent webhooks, rejected deliveries), one event, and the jobs page.
#include "domain/recovery.h"
#include "store/jobs.h"
#include "view/format.h"
#include "view/pages.h"

namespace cs::view {

std::string events_page(const Chrome& c, const EventsModel& m) {
  Data d;
  Data rows = list();
  for (const auto& e : m.rows) {
    Data r;
    set(r, "id", std::to_string(e.id));
    set(r, "type", e.type);
    set(r, "received", datetime(e.received_at));
    set(r, "received_ago", relative(e.received_at, m.now));
    set(r, "happened", datetime(e.event_time));
    // Arrived well after it happened (a backlog, or reconciliation): say how late.
    set(r, "late",
        e.received_at - e.event_time > 10 * 60000
            ? "arrived " + duration(e.received_at - e.event_time) + " later"
            : "");
    auto it = m.case_of.find(e.id);
    if (it != m.case_of.end() && !it->second.empty()) set(r, "case_href", "/cases/" + it->second);
    set(r, "verified",
        e.source == "reconcile" ? "Reconciled from the API"
                                : (e.sig_scheme == "legacy" ? "Verified (legacy)" : "Verified"));
    set(r, "state", e.process_state);
    set(r, "state_label", capitalize(e.process_state));
    set(r, "note", e.process_note);
    set(r, "membership_id", e.membership_id);
    set(r, "amount", e.amount_cents ? money(*e.amount_cents, e.currency) : "");
    rows.push_back(r);
  }
  set(d, "rows", rows);
  set(d, "has_rows", !m.rows.empty());
  set(d, "total", count(m.total));
  Data filters = list();
  const std::pair<const char*, const char*> states[] = {{"", "All"},
                                                        {"processed", "Processed"},
                                                        {"pending", "Pending"},
                                                        {"ignored", "Ignored"},
                                                        {"failed", "Failed"}};
  // Links keep the other filters.
  auto events_href = [&](const std::string& state, int64_t before) {
    std::string q;
    auto add = [&](const char* k, const std::string& v) {
      if (!v.empty()) q += (q.empty() ? "?" : "&") + std::string(k) + "=" + v;
    };
    add("state", state);
    add("type", m.filter.type);
    add("member", m.filter.member);
    add("before", before > 0 ? std::to_string(before) : "");
    return "/events" + q;
  };
  for (const auto& [key, label] : states) {
    Data f;
    set(f, "label", label);
    set(f, "href", events_href(key, 0));
    set(f, "current", m.state == key);
    auto it = m.unsettled.find(key);
    set(f, "count", it == m.unsettled.end() ? "" : count(it->second));
    filters.push_back(f);
  }
  set(d, "filters", filters);
  Data rej = list();
  uint64_t rejected = 0;
  for (const auto& r : m.rejections) {
    Data x;
    set(x, "reason", capitalize(r.reason));
    set(x, "status", std::to_string(r.status));
    set(x, "count", count(static_cast<int64_t>(r.count)));
    set(x, "last", relative(r.last_at, m.now));
    rej.push_back(x);
    rejected += r.count;
  }
  set(d, "rejections", rej);
  set(d, "has_rejections", rejected > 0);
  if (m.next_before > 0) set(d, "next_href", events_href(m.state, m.next_before));
  set(d, "state", m.state);
  set(d, "member", m.filter.member);
  set(d, "filtered", !m.filter.type.empty() || !m.filter.member.empty());
  set(d, "clear_href", "/events" + (m.state.empty() ? std::string() : "?state=" + m.state));
  Data types = list();
  for (const char* t :
       {"payment.failed", "payment.succeeded", "payment.pending", "membership.activated",
        "membership.deactivated", "membership.cancel_at_period_end_changed", "refund.created",
        "dispute.created"}) {
    Data o;
    set(o, "value", t);
    set(o, "selected", m.filter.type == t);
    types.push_back(o);
  }
  set(d, "types", types);
  return page(templates::page_events, c, d);
}

std::string event_page(const Chrome& c, const EventModel& m) {
  const auto& e = m.row;
  Data d;
  set(d, "id", std::to_string(e.id));
  set(d, "webhook_id", e.webhook_id);
  set(d, "type", e.type);
  set(d, "source", e.source);
  set(d, "sig", e.sig_scheme.empty() ? "none (reconciled)" : e.sig_scheme);
  set(d, "event_time", datetime(e.event_time));
  set(d, "received", datetime(e.received_at));
  set(d, "membership_id", e.membership_id);
  set(d, "payment_id", e.payment_id);
  set(d, "user_id", e.user_id);
  set(d, "amount", e.amount_cents ? money(*e.amount_cents, e.currency) : "");
  set(d, "state", e.process_state);
  set(d, "state_label", capitalize(e.process_state));
  set(d, "note", e.process_note);
  set(d, "processed", datetime(e.processed_at));
  set(d, "payload", m.payload);
  set(d, "payload_error", m.payload_error);
  return page(templates::page_event, c, d);
}

std::string jobs_page(const Chrome& c, const JobsModel& m) {
  Data d;
  Data tabs = list();
  const std::pair<const char*, const char*> states[] = {
      {"", "All"},          {"queued", "Queued"}, {"running", "Running"},
      {"failed", "Failed"}, {"dead", "Dead"},     {"done", "Done"}};
  for (const auto& [key, label] : states) {
    Data t;
    set(t, "label", label);
    set(t, "href", std::string(key).empty() ? "/jobs" : "/jobs?state=" + std::string(key));
    set(t, "current", m.state == key);
    int64_t n = 0;
    if (std::string(key).empty()) {
      for (const auto& [k, v] : m.counts) n += v;
    } else if (m.counts.count(key)) {
      n = m.counts.at(key);
    }
    set(t, "count", count(n));
    tabs.push_back(t);
  }
  set(d, "tabs", tabs);
  Data rows = list();
  for (size_t i = 0; i < m.rows.size(); ++i) {
    const auto& j = m.rows[i];
    Data r;
    set(r, "id", std::to_string(j.id));
    set(r, "kind", j.kind);
    if (i < m.labels.size()) {
      set(r, "name", m.labels[i].name);
      set(r, "href", m.labels[i].href);
    } else {
      set(r, "name", j.kind);
    }
    set(r, "state", j.state);
    // A queued job that waits (for the Whop API key, or for the member's webhooks to settle
    // before contact) says so in its state: it is not failing, and shows no error.
    const char* waiting = nullptr;
    if (j.state == "queued") {
      waiting = j.last_error == store::kWaitingForApiKey ? "Waiting for Whop API key"
                                                         : domain::wait_reason_label(j.last_error);
    }
    set(r, "state_label", waiting != nullptr ? std::string(waiting) : capitalize(j.state));
    set(r, "attempts", std::to_string(j.attempts) + " of " + std::to_string(j.max_attempts));
    // Done and dead jobs do not run again (a dead one only when retried): no "Next run".
    const bool finished = j.state == "done" || j.state == "dead";
    set(r, "run_at", finished ? "" : relative(j.run_at, m.now));
    set(r, "updated", relative(j.updated_at, m.now));
    set(r, "error", waiting != nullptr ? std::string() : j.last_error);
    set(r, "retryable", j.state == "dead" || j.state == "failed");
    rows.push_back(r);
  }
  set(d, "rows", rows);
  set(d, "has_rows", !m.rows.empty());
  const std::string state_q = m.state.empty() ? "" : "state=" + m.state;
  if (m.next_before > 0) {
    set(d, "next_href",
        "/jobs?" + (state_q.empty() ? "" : state_q + "&") +
            "before=" + std::to_string(m.next_before));
  }
  if (m.paged) set(d, "first_href", "/jobs" + (state_q.empty() ? "" : "?" + state_q));
  return page(templates::page_jobs, c, d);
}

std::string login_page(const std::string& csrf, const std::string& next, const std::string& error,
                       bool no_admin, int port) {
  Data d;
  set(d, "csrf", csrf);
  set(d, "next", next);
  set(d, "error", error);
  set(d, "no_admin", no_admin);
  set(d, "port", std::to_string(port));
  return page(templates::page_login, Chrome{"Sign in", "", "", "", "", {}}, d);
}

std::string setup_page(const std::string& token, const std::string& csrf, const std::string& error,
                       bool valid) {
  Data d;
  set(d, "token", token);
  set(d, "csrf", csrf);
  set(d, "error", error);
  set(d, "valid", valid);
  return page(templates::page_setup, Chrome{"Set up Churn Saver", "", "", "", "", {}}, d);
}

std::string message_page(const Chrome& c, const std::string& heading, const std::string& text,
                         const std::string& link_href, const std::string& link_text) {
  Data d;
  set(d, "heading", heading);
  set(d, "text", text);
  set(d, "link_href", link_href);
  set(d, "link_text", link_text);
  return page(templates::page_message, c, d);
}

std::string error_page(int status, const std::string& heading, const std::string& text,
                       const std::string& link_href, const std::string& link_text) {
  (void)status;
  return message_page(Chrome{heading, "", "", "", "", {}}, heading, text, link_href, link_text);
}

namespace {

std::string health_value(const nlohmann::json& v) {
  if (v.is_null()) return "none";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array() && v.empty()) return "none";
  return v.dump();
}

}  // namespace

std::string health_page(const nlohmann::json& h) {
  Data d;
  std::string status = h.value("status", "unknown");
  const char* text = status == "ok"          ? "all good"
                     : status == "degraded"  ? "working, with alerts"
                     : status == "read_only" ? "read-only"
                                             : "not ready";
  set(d, "status_text", text);
  set(d, "summary",
      status == "ok" ? "Churn Saver is serving, the database is writable and the scheduler runs."
                     : "Something needs attention: see the alerts and the checks below.");
  Data alerts = list();
  bool any = false;
  if (h.contains("alerts") && h["alerts"].is_array()) {
    for (const auto& a : h["alerts"]) {
      Data row;
      set(row, "severity", a.value("severity", std::string("warning")));
      set(row, "message", a.value("message", a.dump()));
      alerts.push_back(row);
      any = true;
    }
  }
  set(d, "has_alerts", any);
  set(d, "alerts", alerts);
  Data sections = list();
  Data general = list();
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "alerts") continue;
    if (it.value().is_object()) {
      Data rows = list();
      for (auto jt = it.value().begin(); jt != it.value().end(); ++jt) {
        Data r;
        set(r, "key", jt.key());
        set(r, "value", health_value(jt.value()));
        rows.push_back(r);
      }
      Data sec;
      set(sec, "name", it.key());
      set(sec, "rows", rows);
      sections.push_back(sec);
    } else {
      Data r;
      set(r, "key", it.key());
      set(r, "value", health_value(it.value()));
      general.push_back(r);
    }
  }
  Data first;
  set(first, "name", "Summary");
  set(first, "rows", general);
  Data all = list();
  all.push_back(first);
  for (const auto& s : sections.list_value()) all.push_back(s);
  set(d, "sections", all);
  return page(templates::page_health, Chrome{"Health", "", "", "", "", {}}, d);
}

}  // namespace cs::view
