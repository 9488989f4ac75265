#include "util/json_limits.h"

#include <charconv>
#include <cstdint>
#include <string>

namespace cs {
namespace {

using Sax = nlohmann::json_sax<nlohmann::json>;

/// The plain JSON that webhook senders write, scanned without nlohmann's lexer: ASCII strings
/// without escapes, integers of up to 18 digits, decimals without an exponent (up to 64
/// characters), true/false/null, at most `max_depth` nested arrays/objects. Everything outside
/// that (an escape, a byte >= 0x80 or < 0x20 in a string, an exponent, a long number, an error of
/// any kind) makes the scan fail, and the caller then runs nlohmann's parser, which accepts or
/// refuses it with its own error. Within the subset the SAX events are exactly nlohmann's: the
/// same calls in the same order with the same values (tests/unit/test_json_limits.cpp compares
/// them, and tests/fuzz/fuzz_event on every input it makes).
///
/// Run once without a handler (is the whole text in the subset?) and then, only when it is, once
/// more with the handler, so that a handler never sees part of a text that then falls back.
class PlainJsonScanner {
 public:
  PlainJsonScanner(std::string_view text, int max_depth, Sax* sax)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth), sax_(sax) {}

  /// True when the text is in the subset (and, with a handler, every callback returned true).
  bool run() {
    skip_ws();
    if (!value(0)) return false;
    skip_ws();
    return p_ == end_;
  }

 private:
  static constexpr size_t kMaxIntegerDigits = 18;  // below 2^63: no overflow to a float
  static constexpr size_t kMaxNumberChars = 64;

  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string() && (sax_ == nullptr || sax_->string(buf_));
      case 't':
        return literal("true", 4) && (sax_ == nullptr || sax_->boolean(true));
      case 'f':
        return literal("false", 5) && (sax_ == nullptr || sax_->boolean(false));
      case 'n':
        return literal("null", 4) && (sax_ == nullptr || sax_->null());
      default:
        return number();
    }
  }

  bool literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || std::string_view(p_, n) != word) return false;
    p_ += n;
    return true;
  }

  /// A string at p_ (on its opening quote); with a handler, its text goes to buf_.
  bool string() {
    const char* start = ++p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c < 0x20 || c >= 0x80 || c == '\\') return false;
      ++p_;
    }
    if (p_ == end_) return false;
    if (sax_ != nullptr) buf_.assign(start, p_);
    ++p_;
    return true;
  }

  bool number() {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    const char* digits = p_;
    if (p_ == end_ || !digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
      if (p_ != end_ && digit(*p_)) return false;  // a leading zero: not JSON
    } else {
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    const size_t integer_digits = static_cast<size_t>(p_ - digits);
    bool fraction = false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
      fraction = true;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) return false;  // exponents: nlohmann's
    const size_t length = static_cast<size_t>(p_ - start);
    if (length > kMaxNumberChars || (!fraction && integer_digits > kMaxIntegerDigits)) {
      return false;
    }
    if (sax_ == nullptr) return true;
    if (fraction) {
      // nlohmann converts with strtod; from_chars rounds the same (correctly), in any locale.
      double v = 0;
      if (std::from_chars(start, p_, v).ptr != p_) return false;
      buf_.assign(start, p_);
      return sax_->number_float(v, buf_);
    }
    uint64_t v = 0;
    for (const char* d = digits; d != p_; ++d) v = v * 10 + static_cast<uint64_t>(*d - '0');
    if (negative) return sax_->number_integer(-static_cast<int64_t>(v));
    return sax_->number_unsigned(v);
  }

  bool object(int depth) {
    if (depth > max_depth_) return false;
    ++p_;
    if (sax_ != nullptr && !sax_->start_object(static_cast<std::size_t>(-1))) return false;
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return sax_ == nullptr || sax_->end_object();
    }
    while (true) {
      if (p_ == end_ || *p_ != '"' || !string()) return false;
      if (sax_ != nullptr && !sax_->key(buf_)) return false;
      skip_ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      skip_ws();
      if (!value(depth)) return false;
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == '}') break;
      if (*p_ != ',') return false;
      ++p_;
      skip_ws();
    }
    ++p_;
    return sax_ == nullptr || sax_->end_object();
  }

  bool array(int depth) {
    if (depth > max_depth_) return false;
    ++p_;
    if (sax_ != nullptr && !sax_->start_array(static_cast<std::size_t>(-1))) return false;
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return sax_ == nullptr || sax_->end_array();
    }
    while (true) {
      if (!value(depth)) return false;
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ']') break;
      if (*p_ != ',') return false;
      ++p_;
      skip_ws();
    }
    ++p_;
    return sax_ == nullptr || sax_->end_array();
  }

  const char* p_;
  const char* end_;
  int max_depth_;
  Sax* sax_;
  std::string buf_;  // the current string, key or number text (reused: no allocation per token)
};

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

bool plain_json(std::string_view text, int max_depth) {
  return PlainJsonScanner(text, max_depth, nullptr).run();
}

Status sax_parse_limited(std::string_view text, nlohmann::json_sax<nlohmann::json>& sax,
                         int max_depth) {
  if (plain_json(text, max_depth)) {
    // Valid and shallow enough: the same events as nlohmann's parser, without its lexer. A false
    // from the handler stops the parse as it would stop nlohmann's.
    if (PlainJsonScanner(text, max_depth, &sax).run()) return Ok{};
    return Error{std::string("invalid JSON")};
  }
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
