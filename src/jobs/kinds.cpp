#include "jobs/kinds.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace cs::jobs {
namespace {

Result<nlohmann::json> object(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return Error{"the payload is not a JSON object"};
  return j;
}

/// The non-empty string `key`, or an Error naming it.
Result<std::string> text(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) {
    return Error{std::string("no ") + key};
  }
  return j[key].get<std::string>();
}

}  // namespace

std::string write_payload(const ProcessEventJob& p) {
  return nlohmann::json{{"event_id", p.event_id}}.dump();
}

std::string write_payload(const NudgeJob& p) {
  return nlohmann::json{
      {"case_id", p.case_id}, {"attempt", p.attempt}, {"channels", p.channels}, {"actor", p.actor}}
      .dump();
}

std::string nudge_job_key(const std::string& case_id, const std::string& attempt) {
  return "nudge:" + case_id + ":" + attempt;
}

std::string write_payload(const IncentiveJob& p) {
  return nlohmann::json{{"case_id", p.case_id}}.dump();
}

std::string write_payload(const WhopCancelJob& p) {
  return nlohmann::json{
      {"case_id", p.case_id}, {"membership_id", p.membership_id}, {"mode", p.mode}}
      .dump();
}

template <>
Result<ProcessEventJob> read_payload<ProcessEventJob>(const std::string& json) {
  auto j = object(json);
  if (!j) return Error{j.error()};
  if (!j->contains("event_id") || !(*j)["event_id"].is_number_integer()) {
    return Error{"no event_id"};
  }
  return ProcessEventJob{(*j)["event_id"].get<int64_t>()};
}

template <>
Result<NudgeJob> read_payload<NudgeJob>(const std::string& json) {
  auto j = object(json);
  if (!j) return Error{j.error()};
  NudgeJob p;
  auto case_id = text(*j, "case_id");
  auto attempt = text(*j, "attempt");
  if (!case_id) return Error{case_id.error()};
  if (!attempt) return Error{attempt.error()};
  auto known = [](const nlohmann::json& c) { return c == "push" || c == "dm"; };
  if (j->contains("channels")) {
    const auto& cs = (*j)["channels"];
    if (!cs.is_array() || cs.empty()) return Error{"no channels push or dm"};
    for (const auto& c : cs) {
      if (!known(c)) return Error{"no channels push or dm"};
      auto name = c.get<std::string>();
      if (std::find(p.channels.begin(), p.channels.end(), name) != p.channels.end()) {
        return Error{"channel " + name + " twice"};
      }
      p.channels.push_back(std::move(name));
    }
  } else if (j->contains("channel") && known((*j)["channel"])) {
    p.channels = {(*j)["channel"].get<std::string>()};  // queued before channels went together
  } else {
    return Error{"no channel push or dm"};
  }
  p.case_id = *case_id;
  p.attempt = *attempt;
  if (auto actor = text(*j, "actor")) p.actor = *actor;
  return p;
}

template <>
Result<IncentiveJob> read_payload<IncentiveJob>(const std::string& json) {
  auto j = object(json);
  if (!j) return Error{j.error()};
  auto case_id = text(*j, "case_id");
  if (!case_id) return Error{case_id.error()};
  return IncentiveJob{*case_id};
}

template <>
Result<WhopCancelJob> read_payload<WhopCancelJob>(const std::string& json) {
  auto j = object(json);
  if (!j) return Error{j.error()};
  auto membership_id = text(*j, "membership_id");
  auto mode = text(*j, "mode");
  if (!membership_id) return Error{membership_id.error()};
  if (!mode || (*mode != "at_period_end" && *mode != "immediate")) {
    return Error{"no mode at_period_end or immediate"};
  }
  WhopCancelJob p;
  if (auto case_id = text(*j, "case_id")) p.case_id = *case_id;
  p.membership_id = *membership_id;
  p.mode = *mode;
  return p;
}

std::optional<int64_t> insert_event_for_processing(SQLite::Database& db, const store::NewEvent& e,
                                                   int64_t now) {
  (void)now;
  return store::save_event(db, e);
}

bool queue_replay(SQLite::Database& db, int64_t event_id, int64_t now) {
  if (!store::find_event(db, event_id)) return false;
  std::string key = "replay:" + std::to_string(event_id) + ":" + std::to_string(now);
  store::enqueue_job(db, make_job(ProcessEventJob{event_id}, now, key), now);
  return true;
}

}  // namespace cs::jobs
