#pragma once
// A SAX handler that writes down every event it gets, one line each, so that two parsers of the
// same text can be compared event by event (tests/unit/test_json_limits.cpp,
// tests/fuzz/fuzz_event).
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cs::test {

class SaxRecorder : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string log;

  bool null() override { return add("null"); }
  bool boolean(bool v) override { return add(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return add("int " + std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return add("uint " + std::to_string(v)); }
  bool number_float(number_float_t v, const string_t& s) override {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return add("float " + std::string(buf) + " '" + s + "'");
  }
  bool string(string_t& v) override { return add("string '" + v + "'"); }
  bool binary(binary_t&) override { return add("binary"); }
  bool start_object(std::size_t n) override { return add("{ " + std::to_string(n)); }
  bool key(string_t& k) override { return add("key '" + k + "'"); }
  bool end_object() override { return add("}"); }
  bool start_array(std::size_t n) override { return add("[ " + std::to_string(n)); }
  bool end_array() override { return add("]"); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    add("error");
    return false;
  }

 private:
  bool add(const std::string& line) {
    log += line;
    log += '\n';
    return true;
  }
};

/// nlohmann's own SAX parse of `text` into `rec`: true when it accepted the text.
inline bool reference_sax_parse(std::string_view text, SaxRecorder& rec) {
  try {
    return nlohmann::json::sax_parse(text.begin(), text.end(), &rec);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace cs::test
