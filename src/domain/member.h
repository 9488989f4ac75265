#pragma once
// The member's personal details in a webhook body (name, email, card), for display on the case
// page and for the keyed search index; never stored in plaintext, never logged. Pure.
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace cs::domain {

struct MemberDetails {
  std::string name, email, username;  // data.user.*
  std::string card_brand,
      card_last4;  // data.card_brand / data.card_last4, else payment_method.card
  bool empty() const {
    return name.empty() && email.empty() && username.empty() && card_brand.empty() &&
           card_last4.empty();
  }
};
/// The details in a v1 body (legacy bodies name no user object: empty).
MemberDetails member_details(const nlohmann::json& body);

/// How search compares text: ASCII letters lowercased, surrounding blanks trimmed.
std::string search_fold(std::string_view text);
/// The distinct 3-byte fragments of search_fold(text) (none for text shorter than 3).
std::set<std::string> search_trigrams(std::string_view text);
/// The fragments a member's details are found by (name, email, username).
std::set<std::string> member_trigrams(const MemberDetails& m);

}  // namespace cs::domain
