#include "util/json_limits.h"

namespace cs {
namespace {

/// True when `text` nests arrays/objects deeper than `max_depth`, counting only brackets outside
/// strings. A cheap byte scan, so the real parse can run without a per-token callback.
bool nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

std::string depth_error(int max_depth) {
  return "JSON nested deeper than " + std::to_string(max_depth) + " levels";
}

/// Forwards every event to the caller's handler and turns a parse error into
/// parse_json_limited's message.
class ErrorCatchingSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit ErrorCatchingSax(nlohmann::json_sax<nlohmann::json>& inner) : in_(inner) {}
  bool null() override { return in_.null(); }
  bool boolean(bool v) override { return in_.boolean(v); }
  bool number_integer(number_integer_t v) override { return in_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) override { return in_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) override { return in_.number_float(v, s); }
  bool string(string_t& v) override { return in_.string(v); }
  bool binary(binary_t& v) override { return in_.binary(v); }
  bool start_object(std::size_t n) override { return in_.start_object(n); }
  bool key(string_t& k) override { return in_.key(k); }
  bool end_object() override { return in_.end_object(); }
  bool start_array(std::size_t n) override { return in_.start_array(n); }
  bool end_array() override { return in_.end_array(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    if (const auto* pe = dynamic_cast<const nlohmann::json::parse_error*>(&e)) {
      error = "invalid JSON (at byte " + std::to_string(pe->byte) + ")";
    } else {
      // out_of_range: a number too large for a double (1e400), as parse_json_limited says.
      error = "invalid JSON (a number is out of range)";
    }
    return false;
  }
  std::string error;

 private:
  nlohmann::json_sax<nlohmann::json>& in_;
};

}  // namespace

Status sax_parse_limited(std::string_view text, nlohmann::json_sax<nlohmann::json>& sax,
                         int max_depth) {
  if (nests_deeper_than(text, max_depth)) return Error{depth_error(max_depth)};
  ErrorCatchingSax catching(sax);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &catching);
  } catch (const nlohmann::json::exception&) {
    return Error{"invalid JSON (a number is out of range)"};
  }
  if (!ok) {
    return Error{catching.error.empty() ? std::string("invalid JSON") : catching.error};
  }
  return Ok{};
}

Result<nlohmann::json> parse_json_limited(std::string_view text, int max_depth) {
  if (nests_deeper_than(text, max_depth)) {
    return Error{depth_error(max_depth)};
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return Error{"invalid JSON (at byte " + std::to_string(e.byte) + ")"};
  } catch (const nlohmann::json::exception&) {
    // out_of_range: a number too large for a double (1e400). Found by tests/fuzz/fuzz_event.
    return Error{"invalid JSON (a number is out of range)"};
  }
}

}  // namespace cs
