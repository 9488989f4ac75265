// The cases list and one case's page.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "view/format.h"
#include "view/pages.h"

namespace cs::view {
namespace {

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string query_string(const store::CaseQuery& q, std::optional<domain::CaseStatus> status,
                         const std::string& cursor, const std::string& before = "") {
  std::string s;
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    s += s.empty() ? '?' : '&';
    s.append(k).append("=").append(url_encode(v));
  };
  add("status", status ? domain::status_name(*status) : "");
  add("q", q.q);
  if (q.sort != "newest") add("sort", q.sort);
  add("cursor", cursor);
  add("before", before);
  return s;
}

std::string member_name(const store::CaseListRow& r) {
  if (!r.username.empty()) return r.username;
  if (!r.user_id.empty()) return r.user_id;
  return r.membership_id;
}

/// How the case page names a resolution.
std::string resolution_label(domain::Resolution r) {
  switch (r) {
    case domain::Resolution::None:
      return "";
    case domain::Resolution::PeriodEnd:
      return "Cancel at period end";
    case domain::Resolution::Rejoined:
      return "Rejoined (paid for a new membership of the same product)";
    case domain::Resolution::Payment:
    case domain::Resolution::Activation:
    case domain::Resolution::Deactivated:
    case domain::Resolution::Expired:
    case domain::Resolution::Admin:
    case domain::Resolution::Stale:
    case domain::Resolution::Erased:
      return capitalize(domain::resolution_name(r));
  }
  return "";
}

/// For a payment that came after the window of a lost case (expired, or deactivated by Whop and
/// the member bought again too late): how late it was. An expired case's window ended at its
/// resolved_at; a deactivated one's at first failure + `window_ms`.
std::optional<std::string> late_payment_note(const store::CaseListRow& r, const store::EventRow& e,
                                             int64_t window_ms) {
  if (e.type != "payment.succeeded" || r.status != domain::CaseStatus::Lost) return std::nullopt;
  int64_t window_end = r.first_failure_at + window_ms;
  if (r.resolution == domain::Resolution::Expired && r.resolved_at) window_end = *r.resolved_at;
  if (r.resolution != domain::Resolution::Expired &&
      r.resolution != domain::Resolution::Deactivated) {
    return std::nullopt;
  }
  if (e.event_time <= window_end) return std::nullopt;
  auto days = [](int64_t ms, int decimals) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, static_cast<double>(ms) / 86400000.0);
    std::string s = buf;
    if (s.size() > 2 && s.substr(s.size() - 2) == ".0") s.resize(s.size() - 2);
    return s;
  };
  return "paid " + days(e.event_time - r.first_failure_at, 1) +
         " days after the first failure: outside the " + days(window_end - r.first_failure_at, 0) +
         "-day window, not counted as recovered";
}

/// Why a case closed without a recovery, in the creator's words ("" for open and recovered cases).
std::string close_reason(const store::CaseListRow& r) {
  if (r.status == domain::CaseStatus::Lost) {
    switch (r.resolution) {
      case domain::Resolution::Deactivated:
        return "Whop ended the membership";
      case domain::Resolution::Expired:
        return "No payment within the window";
      case domain::Resolution::Stale:
        return "Closed: no activity for too long";
      default:
        return "Lost";
    }
  }
  if (r.status == domain::CaseStatus::Cancelled) {
    switch (r.resolution) {
      case domain::Resolution::PeriodEnd:
        return "Membership ends at period end";
      case domain::Resolution::Erased:
        return "Member's data erased";
      default:
        return "Cancelled by you";
    }
  }
  return "";
}

Data case_row(const store::CaseListRow& r, int64_t now) {
  Data d;
  set(d, "id", r.id);
  set(d, "member", member_name(r));
  set(d, "user_id", r.user_id);
  set(d, "membership_id", r.membership_id);
  set(d, "product", r.product_title);
  set(d, "status", domain::status_name(r.status));
  set(d, "status_label", capitalize(domain::status_name(r.status)));
  set(d, "first_failure", datetime(r.first_failure_at));
  set(d, "first_failure_ago", relative(r.first_failure_at, now));
  set(d, "amount", money(r.amount_due_cents, r.currency));
  // A recovered case owes nothing: its row shows what came back instead.
  set(d, "amount_due",
      r.status == domain::CaseStatus::Recovered ? "" : money(r.amount_due_cents, r.currency));
  set(d, "close_reason", close_reason(r));
  set(d, "recovered",
      r.status == domain::CaseStatus::Recovered
          ? money(domain::net_recovered_cents(r.status, r.recovered_cents, r.refunded_cents),
                  r.currency)
          : "");
  set(d, "failures", std::to_string(r.failures));
  set(d, "clicks", std::to_string(r.clicks));
  return d;
}

}  // namespace

std::string cases_page(const Chrome& c, const CasesModel& m) {
  Data d;
  int64_t total = 0;
  for (const auto& [k, v] : m.counts) total += v;
  Data tabs = list();
  std::vector<std::optional<domain::CaseStatus>> statuses = {std::nullopt};  // "All" first
  for (auto s : domain::all_case_statuses()) statuses.emplace_back(s);
  for (const auto& s : statuses) {
    Data t;
    set(t, "label", s ? capitalize(domain::status_name(*s)) : "All");
    auto it = s ? m.counts.find(*s) : m.counts.end();
    set(t, "count", count(!s ? total : (it == m.counts.end() ? 0 : it->second)));
    set(t, "href", "/cases" + query_string(m.query, s, ""));
    set(t, "current", m.query.status == s);
    tabs.push_back(t);
  }
  set(d, "tabs", tabs);
  set(d, "q", m.query.q);
  set(d, "status", m.query.status ? domain::status_name(*m.query.status) : "");
  Data sorts = list();
  const std::pair<const char*, const char*> sort_opts[] = {{"newest", "Newest first"},
                                                           {"oldest", "Oldest first"},
                                                           {"amount", "Largest amount"},
                                                           {"amount_asc", "Smallest amount"}};
  for (const auto& [key, label] : sort_opts) {
    Data s;
    set(s, "value", key);
    set(s, "label", label);
    set(s, "selected", m.query.sort == key);
    sorts.push_back(s);
  }
  set(d, "sorts", sorts);
  Data rows = list();
  for (const auto& r : m.page.rows) rows.push_back(case_row(r, m.now));
  set(d, "rows", rows);
  set(d, "has_rows", !m.page.rows.empty());
  set(d, "shown", std::to_string(m.page.rows.size()));
  auto matching = !m.query.status
                      ? total
                      : (m.counts.count(*m.query.status) ? m.counts.at(*m.query.status) : 0);
  set(d, "matching", count(matching));
  set(d, "filtered", !m.query.q.empty() || m.query.status.has_value());
  if (!m.page.rows.empty()) {
    // "51–54 of 54"
    set(d, "range",
        count(m.page.offset + 1) + "–" +
            count(m.page.offset + static_cast<int64_t>(m.page.rows.size())) + " of " +
            count(std::max<int64_t>(matching,
                                    m.page.offset + static_cast<int64_t>(m.page.rows.size()))));
  }
  if (!m.page.prev_cursor.empty()) {
    set(d, "prev_href", "/cases" + query_string(m.query, m.query.status, "", m.page.prev_cursor));
    if (m.page.offset > static_cast<int64_t>(m.query.limit)) {
      set(d, "first_href", "/cases" + query_string(m.query, m.query.status, ""));
    }
  }
  if (!m.page.next_cursor.empty()) {
    set(d, "next_href", "/cases" + query_string(m.query, m.query.status, m.page.next_cursor));
  }
  set(d, "export_href", "/cases/export.csv" + query_string(m.query, m.query.status, ""));
  return page(templates::page_cases, c, d);
}

const std::vector<CaseAction>& case_actions() {
  static const std::vector<CaseAction> a = {
      {"nudge", "Nudge now",
       "Sends a reminder now on every channel switched on in settings (push and/or DM).", false,
       &domain::CaseActions::nudge},
      {"cancel", "Cancel case",
       "Stops all further nudges and incentives for this case. The membership is not touched.",
       false, &domain::CaseActions::cancel},
      {"cancel-at-period-end", "Cancel at period end",
       "Asks Whop to cancel the membership when the current billing period ends.", true,
       &domain::CaseActions::cancel_at_period_end},
      {"terminate", "Terminate now",
       "Asks Whop to end the membership immediately. The member loses access now.", true,
       &domain::CaseActions::terminate},
  };
  return a;
}

namespace {

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

/// What an action does to this member and product, in plain words (the confirmation step).
std::string confirm_text(const std::string& key, const std::string& member,
                         const std::string& product_name) {
  const std::string product = product_name.empty() ? "their" : product_name;
  if (key == "nudge") {
    return "Send " + member + " a reminder about " +
           (product_name.empty() ? "their membership" : product_name) +
           " now, on every channel switched on in Settings (push and/or direct message). The "
           "page then says whether it was sent.";
  }
  if (key == "cancel") {
    return "Stop all further reminders and free days for " + member + ". Their " + product +
           " membership is not touched: Whop keeps retrying the payment.";
  }
  if (key == "cancel-at-period-end") {
    return "Ask Whop to cancel " + member + "'s " + product +
           " membership when the current billing period ends. " + member +
           " keeps access until then and is not charged again; reminders for this case stop now.";
  }
  return "Ask Whop to end " + member + "'s " + product + " membership now. " + member +
         " loses access immediately; this cannot be undone from here.";
}

std::string channel_words(const std::string& ch) {
  if (ch == "dm") return "a direct message";
  if (ch == "push") return "a push notification";
  return "a reminder";
}

int meta_days(const std::string& meta) {
  auto j = nlohmann::json::parse(meta, nullptr, false);
  if (j.is_object() && j.contains("days") && j["days"].is_number_integer()) {
    return j["days"].get<int>();
  }
  return 0;
}

/// A stored event as the creator reads it: "alice's payment of $29.99 failed".
std::string event_text(const store::EventRow& e, const std::string& who) {
  const std::string amount = e.amount_cents ? " of " + money(*e.amount_cents, e.currency) : "";
  const auto kind = domain::kind_from_type(e.type);
  switch (kind) {
    case domain::EventKind::PaymentFailed:
      return who + "'s payment" + amount + " failed";
    case domain::EventKind::PaymentSucceeded:
      return who + " paid" + (e.amount_cents ? " " + money(*e.amount_cents, e.currency) : "");
    case domain::EventKind::MembershipDeactivated:
      return "Whop ended " + who + "'s membership";
    case domain::EventKind::MembershipActivated:
      return who + "'s membership became active";
    case domain::EventKind::MembershipCancelAtPeriodEndChanged:
      return who + "'s membership: cancel at period end changed";
    case domain::EventKind::Refund:
      return "Payment refunded" + amount;
    case domain::EventKind::Dispute:
      return "Payment disputed" + amount;
    case domain::EventKind::PaymentPending:
      return who + "'s payment" + amount + " is pending";
    default:
      return e.type;
  }
}

struct ActionText {
  std::string who, what, detail;
};

/// An audit row as the creator reads it: who acted ("You", "Churn Saver", the member, Whop) and
/// what happened. Internal bookkeeping rows (the record made before asking Whop for free days)
/// are left out ("" what).
ActionText action_text(const store::Action& a, const std::string& member) {
  const bool you = a.actor == "admin";
  const std::string actor = you ? "You" : "Churn Saver";
  const std::string n = a.attempt ? " (reminder " + std::to_string(*a.attempt + 1) + ")" : "";
  const std::string by = you ? "you" : "Churn Saver";
  const std::string& t = a.type;
  if (t == "case_opened") return {"Churn Saver", "Recovery started for " + member, ""};
  if (t == "case_extended") return {"Whop", "Another payment failed; the case stays open", ""};
  if (t == "case_recovered") return {member, member + " paid: case recovered", ""};
  if (t == "case_lost") {
    return {"Churn Saver", "Case lost",
            a.outcome == "stale" ? "closed after a long time without activity" : ""};
  }
  if (t == "case_cancelled") {
    return {actor,
            you ? "You cancelled the case"
                : "Case cancelled: the membership ends at "
                  "period end",
            "no more reminders or free days"};
  }
  if (t == "nudge_requested") return {"You", "You asked to remind " + member + " now", ""};
  if (t == "nudge_sent") {
    return {actor,
            (you ? "You sent " : "Churn Saver sent ") + member + " " + channel_words(a.channel) + n,
            ""};
  }
  if (t == "nudge_skipped") {
    return {"Churn Saver", "Skipped " + channel_words(a.channel) + n,
            "a later reminder was due, or the member had already paid"};
  }
  if (t == "nudge_unknown") {
    return {actor, channel_words(a.channel) + n + ": Whop did not confirm",
            "not sent again, so " + member + " is never reminded twice"};
  }
  if (t == "nudge_failed") {
    return {actor, capitalize(channel_words(a.channel)) + n + " could not be sent", ""};
  }
  if (t == "incentive_intent") return {"", "", ""};
  if (t == "incentive_granted") {
    const int d = meta_days(a.metadata);
    return {
        "Churn Saver",
        "Churn Saver gave " + member + " " + (d > 0 ? std::to_string(d) + " " : "") + "free days",
        ""};
  }
  if (t == "incentive_skipped") return {"Churn Saver", "No free days given", a.outcome};
  if (t == "incentive_failed") return {"Churn Saver", "Free days could not be granted", ""};
  if (t == "link_clicked") return {member, member + " opened the payment link", ""};
  if (t == "membership_cancel_requested") {
    return {"You", "You asked Whop to cancel " + member + "'s membership", ""};
  }
  if (t == "membership_cancelled") {
    return {"Whop", "Whop cancelled " + member + "'s membership", "asked by " + by};
  }
  if (t == "membership_cancel_failed") {
    return {"Whop", "Whop did not cancel " + member + "'s membership", "asked by " + by};
  }
  return {actor, capitalize(t), a.outcome};
}

}  // namespace

std::string case_page(const Chrome& c, const CaseModel& m) {
  const auto& r = m.detail.row;
  Data d = case_row(r, m.now);
  set(d, "product_id", m.detail.product_id);
  set(d, "plan_id", m.detail.plan_id);
  set(d, "failure_message", m.detail.failure_message);
  // The member's details, decrypted for this page only.
  if (!m.member.name.empty()) set(d, "member_name", m.member.name);
  set(d, "member_email", m.member.email);
  if (!m.member.card_brand.empty() || !m.member.card_last4.empty()) {
    set(d, "card",
        (m.member.card_brand.empty() ? std::string("Card") : capitalize(m.member.card_brand)) +
            (m.member.card_last4.empty() ? "" : " ending in " + m.member.card_last4));
  }
  set(d, "whop_member_url", m.whop_member_url);
  set(d, "last_failure", datetime(r.last_failure_at));
  set(d, "resolution", resolution_label(r.resolution));
  set(d, "resolved_at", datetime(r.resolved_at));
  set(d, "refunded", r.refunded_cents > 0 ? money(r.refunded_cents, r.currency) : "");
  set(d, "next_nudge",
      m.detail.next_nudge_at ? datetime(*m.detail.next_nudge_at) + " (" +
                                   relative(*m.detail.next_nudge_at, m.now) + ")"
                             : "");
  set(d, "incentive",
      r.incentive_state == domain::IncentiveState::None
          ? ""
          : capitalize(domain::incentive_state_name(r.incentive_state)) +
                (r.incentive_days > 0 ? " (" + std::to_string(r.incentive_days) + " days)" : ""));
  set(d, "first_click", datetime(m.detail.first_click_at));
  set(d, "is_open", r.status == domain::CaseStatus::Open);
  set(d, "ends_at_period_end",
      r.status == domain::CaseStatus::Cancelled && r.resolution == domain::Resolution::PeriodEnd);
  if (m.arm) {
    set(d, "arm",
        m.arm->arm_name + (domain::is_holdout(m.arm->arm) ? " (nobody contacts this case)" : ""));
    set(d, "arm_experiment", m.arm->experiment_name);
    set(d, "arm_href", "/experiments/" + std::to_string(m.arm->experiment_id));
  }
  const bool holdout = m.arm && domain::is_holdout(m.arm->arm);
  const auto allowed = domain::allowed_actions(r.status, r.resolution, holdout);

  Data actions = list();
  for (const auto& a : case_actions()) {
    Data ad;
    set(ad, "key", a.key);
    set(ad, "label", a.label);
    set(ad, "explain",
        holdout && a.key == "nudge"
            ? "Not offered: this case is in the experiment's holdout, which nobody contacts."
            : a.explain);
    set(ad, "danger", a.danger);
    set(ad, "allowed", a.allowed(allowed));
    actions.push_back(ad);
    if (m.confirm == a.key && a.allowed(allowed)) {
      Data conf;
      set(conf, "key", a.key);
      set(conf, "label", a.label);
      set(conf, "yes_label", "Yes, " + lower_first(a.label));
      set(conf, "explain",
          confirm_text(a.key, member_name(r),
                       r.product_title.empty() ? m.detail.product_id : r.product_title));
      set(conf, "danger", a.danger);
      set(d, "confirm", conf);
    }
  }
  set(d, "actions", actions);

  Data sends = list();
  for (const auto& s : m.sends) {
    Data sd;
    bool manual = !s.attempt.empty() && s.attempt[0] == 'm';
    set(sd, "attempt",
        manual ? "Manual " + s.attempt.substr(1)
               : "Reminder " + std::to_string(std::atoi(s.attempt.c_str()) + 1));
    set(sd, "channel", s.channel == "dm" ? "Direct message" : "Push");
    set(sd, "state", domain::send_state_name(s.state));
    set(sd, "state_label", capitalize(domain::send_state_name(s.state)));
    set(sd, "at", datetime(s.created_at));
    sends.push_back(sd);
  }
  set(d, "sends", sends);
  set(d, "has_sends", !m.sends.empty());

  struct Item {
    int64_t at;
    Data data;
  };
  std::vector<Item> items;
  const std::string who = member_name(r);
  for (const auto& e : m.events) {
    Data t;
    set(t, "at", datetime(e.event_time));
    set(t, "kind", "event");
    set(t, "what", event_text(e, who));
    set(t, "who", "Whop");
    std::string detail;
    if (e.membership_id != r.membership_id) {
      detail += "new membership " + e.membership_id;
    }
    if (auto late = late_payment_note(r, e, m.window_ms)) {
      detail += (detail.empty() ? "" : " · ") + *late;
    }
    if (e.process_state == "pending" || e.process_state == "failed") {
      detail += (detail.empty() ? "" : " · ") + std::string("not processed yet (") +
                e.process_state + ")";
    }
    set(t, "detail", detail);
    set(t, "href", "/events/" + std::to_string(e.id));
    items.push_back({e.event_time, t});
  }
  for (const auto& a : m.actions) {
    auto text = action_text(a, who);
    if (text.what.empty()) continue;
    Data t;
    set(t, "at", datetime(a.at));
    set(t, "kind", a.actor == "admin" ? "admin" : "action");
    set(t, "what", text.what);
    set(t, "who", text.who);
    set(t, "detail", text.detail);
    items.push_back({a.at, t});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& x, const Item& y) { return x.at < y.at; });
  Data timeline = list();
  for (auto& i : items) timeline.push_back(i.data);
  set(d, "timeline", timeline);
  set(d, "has_timeline", !items.empty());
  return page(templates::page_case, c, d);
}

}  // namespace cs::view
