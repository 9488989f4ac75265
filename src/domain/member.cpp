#include "domain/member.h"

#include <nlohmann/json.hpp>

namespace cs::domain {
namespace {

using nlohmann::json;

std::string str_at(const json& obj, std::initializer_list<const char*> keys) {
  const json* node = &obj;
  for (const char* k : keys) {
    if (!node->is_object()) return "";
    auto it = node->find(k);
    if (it == node->end()) return "";
    node = &*it;
  }
  return node->is_string() ? node->get<std::string>() : "";
}

}  // namespace

MemberDetails member_details(const json& body) {
  MemberDetails m;
  if (!body.is_object()) return m;
  auto data = body.find("data");
  if (data == body.end() || !data->is_object()) return m;
  m.name = str_at(*data, {"user", "name"});
  m.email = str_at(*data, {"user", "email"});
  m.username = str_at(*data, {"user", "username"});
  m.card_brand = str_at(*data, {"card_brand"});
  if (m.card_brand.empty()) m.card_brand = str_at(*data, {"payment_method", "card", "brand"});
  m.card_last4 = str_at(*data, {"card_last4"});
  if (m.card_last4.empty()) m.card_last4 = str_at(*data, {"payment_method", "card", "last4"});
  // Only digits are a last-4 (anything else a sender puts there is not shown).
  if (m.card_last4.size() > 4 ||
      m.card_last4.find_first_not_of("0123456789") != std::string::npos) {
    m.card_last4.clear();
  }
  return m;
}

std::string search_fold(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
  std::string out(text.substr(b, e - b));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::set<std::string> search_trigrams(std::string_view text) {
  std::set<std::string> out;
  const std::string f = search_fold(text);
  for (size_t i = 0; i + 3 <= f.size(); ++i) out.insert(f.substr(i, 3));
  return out;
}

std::set<std::string> member_trigrams(const MemberDetails& m) {
  std::set<std::string> out;
  for (const auto* field : {&m.name, &m.email, &m.username}) {
    auto t = search_trigrams(*field);
    out.insert(t.begin(), t.end());
  }
  return out;
}

}  // namespace cs::domain
