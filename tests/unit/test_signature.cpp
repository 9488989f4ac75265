// Unit tests for whop/signature: the signed test vector (shared/WHOP.md §1), both header schemes,
// and the rejections a receiver must make.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "util/crypto.h"
#include "whop/signature.h"

using cs::whop::SignatureHeaders;
using cs::whop::Verification;
using cs::whop::VerifyOutcome;

namespace {

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(CS_FIXTURES_DIR) + "/whop/" + name, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open fixture " << name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The test vector of fixtures/whop/vector.json and its exact body bytes.
struct Vector {
  std::string secret, id, timestamp, signature, legacy, body;
  int64_t ts = 0;
};

const Vector& vec() {
  static const Vector v = [] {
    const auto j = nlohmann::json::parse(read_fixture("vector.json"));
    Vector out;
    out.secret = j.at("secret").get<std::string>();
    out.id = j.at("headers").at("webhook-id").get<std::string>();
    out.timestamp = j.at("headers").at("webhook-timestamp").get<std::string>();
    out.signature = j.at("headers").at("webhook-signature").get<std::string>();
    out.legacy = j.at("legacy_x_whop_signature").get<std::string>();
    out.body = read_fixture(j.at("body_file").get<std::string>());
    out.ts = std::stoll(out.timestamp);
    return out;
  }();
  return v;
}

SignatureHeaders v1_headers() {
  return SignatureHeaders{vec().id, vec().timestamp, vec().signature, ""};
}

SignatureHeaders legacy_headers() {
  return SignatureHeaders{"", "", "", vec().legacy};
}

Verification verify(const SignatureHeaders& h, int64_t now, std::string_view body = vec().body,
                    const std::vector<std::string>& secrets = {vec().secret}) {
  return cs::whop::verify(secrets, h, body, now);
}

}  // namespace

TEST_CASE("test vector fixture is as documented") {
  CHECK(vec().body.size() == 502);
  CHECK(vec().ts == 1767225600);
  CHECK(vec().signature == "v1,sqvoO82VTk9z7STba9FG1QOUVTGvcQ6PXtctCVja+vQ=");
}

TEST_CASE("sign_v1 and sign_legacy reproduce the vector exactly") {
  CHECK(cs::whop::sign_v1(vec().secret, vec().id, vec().ts, vec().body) == vec().signature);
  CHECK(cs::whop::sign_legacy(vec().secret, vec().ts, vec().body) == vec().legacy);
}

TEST_CASE("the vector verifies with v1 headers") {
  const Verification v = verify(v1_headers(), vec().ts);
  CHECK(v.outcome == VerifyOutcome::Ok);
  CHECK(v.scheme == "v1");
  CHECK(v.timestamp == vec().ts);
}

TEST_CASE("the vector verifies with the legacy header") {
  const Verification v = verify(legacy_headers(), vec().ts);
  CHECK(v.outcome == VerifyOutcome::Ok);
  CHECK(v.scheme == "legacy");
  CHECK(v.timestamp == vec().ts);
}

TEST_CASE("legacy header parts in any order, uppercase hex accepted") {
  const std::string legacy = vec().legacy;
  const std::string hex = legacy.substr(legacy.find("v1=") + 3);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  SignatureHeaders h;
  h.legacy_signature = "v1=" + hex + ",t=" + vec().timestamp;
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::Ok);
  h.legacy_signature = "t=" + vec().timestamp + ",v1=" + upper;
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::Ok);
  h.legacy_signature = "t=" + vec().timestamp + ",v1=" + std::string(64, '0') + ",v1=" + hex;
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::Ok);
}

TEST_CASE("missing headers") {
  const int64_t now = vec().ts;
  SUBCASE("no headers at all") {
    CHECK(verify(SignatureHeaders{}, now).outcome == VerifyOutcome::MissingHeaders);
  }
  SUBCASE("webhook-id missing") {
    SignatureHeaders h = v1_headers();
    h.webhook_id.clear();
    CHECK(verify(h, now).outcome == VerifyOutcome::MissingHeaders);
  }
  SUBCASE("webhook-timestamp missing") {
    SignatureHeaders h = v1_headers();
    h.webhook_timestamp.clear();
    CHECK(verify(h, now).outcome == VerifyOutcome::MissingHeaders);
  }
  SUBCASE("webhook-signature missing") {
    SignatureHeaders h = v1_headers();
    h.webhook_signature.clear();
    CHECK(verify(h, now).outcome == VerifyOutcome::MissingHeaders);
  }
  SUBCASE("incomplete v1 falls back to a present legacy header") {
    SignatureHeaders h = v1_headers();
    h.webhook_signature.clear();
    h.legacy_signature = vec().legacy;
    const Verification v = verify(h, now);
    CHECK(v.outcome == VerifyOutcome::Ok);
    CHECK(v.scheme == "legacy");
  }
  SUBCASE("legacy header without t or v1") {
    SignatureHeaders h;
    h.legacy_signature = "t=" + vec().timestamp;
    CHECK(verify(h, now).outcome == VerifyOutcome::MissingHeaders);
    h.legacy_signature = vec().legacy.substr(vec().legacy.find("v1="));
    CHECK(verify(h, now).outcome == VerifyOutcome::MissingHeaders);
  }
}

TEST_CASE("bad signature") {
  SignatureHeaders h = v1_headers();
  h.webhook_signature = cs::whop::sign_v1("ws_other", vec().id, vec().ts, vec().body);
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::BadSignature);
  h.webhook_signature = "v1,not-base64!";
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::BadSignature);
  h.webhook_signature = "v1,";
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::BadSignature);
  SignatureHeaders l = legacy_headers();
  l.legacy_signature = cs::whop::sign_legacy("ws_other", vec().ts, vec().body);
  CHECK(verify(l, vec().ts).outcome == VerifyOutcome::BadSignature);
  l.legacy_signature = "t=" + vec().timestamp + ",v1=xyz";
  CHECK(verify(l, vec().ts).outcome == VerifyOutcome::BadSignature);
}

TEST_CASE("a different webhook-id invalidates the v1 signature") {
  SignatureHeaders h = v1_headers();
  h.webhook_id = "msg_2Z6rH4n8QmXcVb1LpT0sKy9B";
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::BadSignature);
}

TEST_CASE("timestamp tolerance is 300 s either way") {
  const int64_t ts = vec().ts;
  for (const SignatureHeaders& h : {v1_headers(), legacy_headers()}) {
    CHECK(verify(h, ts + 300).outcome == VerifyOutcome::Ok);
    CHECK(verify(h, ts - 300).outcome == VerifyOutcome::Ok);
    const Verification late = verify(h, ts + 301);
    CHECK(late.outcome == VerifyOutcome::StaleTimestamp);
    CHECK(late.timestamp == ts);
    CHECK(verify(h, ts - 301).outcome == VerifyOutcome::StaleTimestamp);
  }
}

TEST_CASE("stale check survives extreme clock values") {
  CHECK(verify(v1_headers(), INT64_MIN).outcome == VerifyOutcome::StaleTimestamp);
  CHECK(verify(v1_headers(), INT64_MAX).outcome == VerifyOutcome::StaleTimestamp);
}

TEST_CASE("non-numeric timestamps are rejected") {
  for (const std::string& bad :
       std::vector<std::string>{"abc", "1767225600.0", "-1767225600", "+1767225600", " 1767225600",
                                "1767225600 ", "1e9", "0x69", "9999999999999999999999"}) {
    CAPTURE(bad);
    SignatureHeaders h = v1_headers();
    h.webhook_timestamp = bad;
    CHECK(verify(h, vec().ts).outcome == VerifyOutcome::BadTimestamp);
    SignatureHeaders l;
    l.legacy_signature = "t=" + bad + "x,v1=" + std::string(64, '0');
    CHECK(verify(l, vec().ts).outcome == VerifyOutcome::BadTimestamp);
  }
  SignatureHeaders dup;  // two t= parts are ambiguous
  dup.legacy_signature = "t=" + vec().timestamp + "," + vec().legacy;
  CHECK(verify(dup, vec().ts).outcome == VerifyOutcome::BadTimestamp);
}

TEST_CASE("legacy header: whitespace around its parts is tolerated") {
  SignatureHeaders l;
  const std::string hex = vec().legacy.substr(vec().legacy.find("v1="));
  l.legacy_signature = " t=" + vec().timestamp + " , " + hex + " ";
  CHECK(verify(l, vec().ts).outcome == VerifyOutcome::Ok);
}

TEST_CASE("several signatures, the good one last") {
  SignatureHeaders h = v1_headers();
  const std::string other1 = cs::whop::sign_v1("ws_old1", vec().id, vec().ts, vec().body);
  const std::string other2 = cs::whop::sign_v1("ws_old2", vec().id, vec().ts, vec().body);
  h.webhook_signature = other1 + " " + other2 + " " + vec().signature;
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::Ok);
  h.webhook_signature = other1 + "  " + other2;
  CHECK(verify(h, vec().ts).outcome == VerifyOutcome::BadSignature);
}

TEST_CASE("entries of unknown versions are ignored") {
  SignatureHeaders h = v1_headers();
  const std::string sig = vec().signature.substr(3);  // the base64 part
  SUBCASE("only unknown versions: rejected even with the right bytes") {
    h.webhook_signature = "v2," + sig + " v1a," + sig + " V1," + sig + " " + sig;
    CHECK(verify(h, vec().ts).outcome == VerifyOutcome::BadSignature);
  }
  SUBCASE("an unknown version entry plus a good v1 entry") {
    h.webhook_signature = "v1a,AAAA v2," + sig + " " + vec().signature;
    CHECK(verify(h, vec().ts).outcome == VerifyOutcome::Ok);
  }
}

TEST_CASE("secret rotation: two secrets, signed with the second") {
  const std::vector<std::string> secrets = {"ws_previous_secret", vec().secret};
  CHECK(verify(v1_headers(), vec().ts, vec().body, secrets).outcome == VerifyOutcome::Ok);
  CHECK(verify(legacy_headers(), vec().ts, vec().body, secrets).outcome == VerifyOutcome::Ok);
  const std::vector<std::string> with_blanks = {"", "   ", vec().secret};
  CHECK(verify(v1_headers(), vec().ts, vec().body, with_blanks).outcome == VerifyOutcome::Ok);
}

TEST_CASE("whsec_ secrets are base64-decoded") {
  const std::string key_bytes = "\x01\x02\xff some raw key bytes";
  const std::string whsec = "whsec_" + cs::crypto::base64_encode(key_bytes);
  CHECK(cs::whop::secret_key_bytes(whsec) == key_bytes);
  CHECK(cs::whop::secret_key_bytes("  " + whsec + "\n") == key_bytes);

  SignatureHeaders h = v1_headers();
  h.webhook_signature =
      "v1," + cs::crypto::base64_encode(cs::crypto::hmac_sha256(
                  key_bytes, vec().id + "." + vec().timestamp + "." + vec().body));
  CHECK(cs::whop::sign_v1(whsec, vec().id, vec().ts, vec().body) == h.webhook_signature);
  CHECK(verify(h, vec().ts, vec().body, {whsec}).outcome == VerifyOutcome::Ok);
  // The same bytes configured as a plain secret are a different key.
  CHECK(verify(h, vec().ts, vec().body, {vec().secret}).outcome == VerifyOutcome::BadSignature);
}

TEST_CASE("secret_key_bytes: ws_ kept whole, undecodable whsec_ used raw") {
  CHECK(cs::whop::secret_key_bytes(vec().secret) == vec().secret);
  CHECK(cs::whop::secret_key_bytes(" " + vec().secret + " ") == vec().secret);
  CHECK(cs::whop::secret_key_bytes("whsec_not*base64") == "whsec_not*base64");
  SignatureHeaders h = v1_headers();
  h.webhook_signature = cs::whop::sign_v1("whsec_not*base64", vec().id, vec().ts, vec().body);
  CHECK(verify(h, vec().ts, vec().body, {"whsec_not*base64"}).outcome == VerifyOutcome::Ok);
}

TEST_CASE("no usable secret") {
  CHECK(verify(v1_headers(), vec().ts, vec().body, {}).outcome == VerifyOutcome::NoSecret);
  CHECK(verify(v1_headers(), vec().ts, vec().body, {"", " \t"}).outcome == VerifyOutcome::NoSecret);
  CHECK(verify(SignatureHeaders{}, vec().ts, vec().body, {}).outcome == VerifyOutcome::NoSecret);
}

TEST_CASE("a body tampered by one byte fails") {
  std::string body = vec().body;
  body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x01);
  CHECK(verify(v1_headers(), vec().ts, body).outcome == VerifyOutcome::BadSignature);
  CHECK(verify(legacy_headers(), vec().ts, body).outcome == VerifyOutcome::BadSignature);
  CHECK(verify(v1_headers(), vec().ts, vec().body + "\n").outcome == VerifyOutcome::BadSignature);
}

TEST_CASE("outcome names are stable") {
  CHECK(std::string(cs::whop::outcome_name(VerifyOutcome::Ok)) == "ok");
  CHECK(std::string(cs::whop::outcome_name(VerifyOutcome::NoSecret)) == "no_secret");
  CHECK(std::string(cs::whop::outcome_name(VerifyOutcome::MissingHeaders)) == "missing_headers");
  CHECK(std::string(cs::whop::outcome_name(VerifyOutcome::BadTimestamp)) == "bad_timestamp");
  CHECK(std::string(cs::whop::outcome_name(VerifyOutcome::StaleTimestamp)) == "stale_timestamp");
  CHECK(std::string(cs::whop::outcome_name(VerifyOutcome::BadSignature)) == "bad_signature");
}

TEST_CASE("round trip through the signers at an arbitrary time") {
  const std::string body = R"({"type":"payment.succeeded"})";
  const int64_t ts = 1700000000;
  SignatureHeaders h{"msg_abc", std::to_string(ts), cs::whop::sign_v1("ws_x", "msg_abc", ts, body),
                     ""};
  CHECK(cs::whop::verify({"ws_x"}, h, body, ts + 10).outcome == VerifyOutcome::Ok);
  SignatureHeaders l{"", "", "", cs::whop::sign_legacy("ws_x", ts, body)};
  CHECK(cs::whop::verify({"ws_x"}, l, body, ts - 10).outcome == VerifyOutcome::Ok);
}
