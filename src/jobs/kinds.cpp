#include "jobs/kinds.h"

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
      {"case_id", p.case_id}, {"attempt", p.attempt}, {"channel", p.channel}, {"actor", p.actor}}
      .dump();
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
  auto channel = text(*j, "channel");
  if (!case_id) return Error{case_id.error()};
  if (!attempt) return Error{attempt.error()};
  if (!channel || (*channel != "push" && *channel != "dm")) return Error{"no channel push or dm"};
  p.case_id = *case_id;
  p.attempt = *attempt;
  p.channel = *channel;
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
