// The webhook signature header parser and verifier (src/whop/signature.cpp) on hostile headers.
// Input:
// "<secret>\n<webhook-id>\n<webhook-timestamp>\n<webhook-signature>\n<x-whop-signature>\n<body>".
// Invariants: nothing crashes; a hostile header never verifies; a delivery signed with the
// input's own secret, id and body always verifies (v1 and legacy).
#include <cstdint>

#include "fuzz/fuzz.h"
#include "whop/signature.h"

using namespace cs::whop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = cs::fuzz::fields(data, size, 6);
  const std::string &secret = f[0], &id = f[1], &body = f[5];
  const int64_t now = 1'700'000'000;
  const std::vector<std::string> fixed = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ws_0123abcd"};

  // Hostile headers against fixed secrets: any outcome but Ok (nobody can forge an HMAC).
  Verification v = verify(fixed, SignatureHeaders{id, f[2], f[3], f[4]}, body, now);
  cs::fuzz::check(v.outcome != VerifyOutcome::Ok, "hostile headers verified");
  (void)outcome_name(v.outcome);
  (void)secret_key_bytes(f[3]);

  // Round trip with the input's own secret.
  const std::vector<std::string> own = {secret};
  if (secret_key_bytes(secret).empty()) return 0;
  std::string ts = std::to_string(now);
  if (!id.empty()) {
    Verification ok =
        verify(own, SignatureHeaders{id, ts, sign_v1(secret, id, now, body), ""}, body, now);
    cs::fuzz::check(ok.outcome == VerifyOutcome::Ok, "own v1 signature rejected");
  }
  Verification legacy =
      verify(own, SignatureHeaders{"", "", "", sign_legacy(secret, now, body)}, body, now);
  cs::fuzz::check(legacy.outcome == VerifyOutcome::Ok, "own legacy signature rejected");
  return 0;
}
