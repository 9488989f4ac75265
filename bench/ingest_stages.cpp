// CPU per webhook of each in-process stage of ingest and of its processing, before and after
// issue 14: the signature check, parse + map (a document, then the one-pass SAX extraction that
// ingest and processing both use), sealing (plain deflate, then deflate with the Whop dictionary),
// and processing's opening of the payload, on the same 2 KB payment.failed
// body as ingest_bench. Wall time per call, median of 7 runs of 2,000 calls.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "domain/event.h"
#include "domain/member.h"
#include "store/events.h"
#include "support/fake_whop.h"
#include "support/test_app.h"
#include "util/compress.h"
#include "util/crypto.h"
#include "util/json_limits.h"
#include "whop/signature.h"

namespace {

double us_per_call(int n, const std::function<void()>& fn) {
  std::vector<double> runs;
  for (int r = 0; r < 7; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) fn();
    runs.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
        n);
  }
  std::sort(runs.begin(), runs.end());
  return runs[3];
}

}  // namespace

int main() {
  cs::test::FakeWhop::PaymentSpec spec;
  auto ev = cs::test::FakeWhop::payment_event("payment.failed", spec);
  ev["id"] = "msg_000000000000000000000001";
  const std::string body = ev.dump();
  const std::string id = "msg_000000000000000000000001";
  const int64_t now = std::time(nullptr);
  cs::whop::SignatureHeaders h{id, std::to_string(now),
                               cs::whop::sign_v1(cs::test::kTestSecret, id, now, body), ""};
  const std::vector<std::string> secrets = {cs::test::kTestSecret};
  cs::crypto::Keyring keys({cs::crypto::Key{1, std::string(32, 'k')}});
  const int n = 2000;
  size_t sink = 0;  // printed, so no call is optimised away
  std::printf("body %zu bytes; us per call (median of 7 x %d)\n", body.size(), n);
  std::printf("%-44s %8.2f\n", "signature (whop::verify)", us_per_call(n, [&] {
                sink += cs::whop::verify(secrets, h, body, now).scheme.size();
              }));
  std::printf("%-44s %8.2f\n", "parse+map document (+ member_details)", us_per_call(n, [&] {
                auto j = cs::parse_json_limited(body);
                sink += cs::domain::member_details(*j).name.size();
                sink += cs::domain::map_whop_event(*j)->type.size();
              }));
  std::printf("%-44s %8.2f\n", "parse+map one pass (parse_whop_event)", us_per_call(n, [&] {
                auto p = cs::domain::parse_whop_event(body);
                sink += p.event->type.size() + p.member.name.size();
              }));
  std::printf("%-44s %8.2f  (%zu bytes)\n", "seal before (deflate + AES-GCM)",
              us_per_call(n,
                          [&] {
                            sink +=
                                cs::crypto::seal(keys.current(), "z" + cs::compress::deflate(body),
                                                 cs::store::event_payload_aad(id))
                                    .size();
                          }),
              cs::crypto::seal(keys.current(), "z" + cs::compress::deflate(body), "x").size());
  std::printf("%-44s %8.2f  (%zu bytes)\n", "seal after (dictionary deflate + AES-GCM)",
              us_per_call(n, [&] { sink += cs::store::seal_event_payload(keys, body, id).size(); }),
              cs::store::seal_event_payload(keys, body, id).size());
  const std::string sealed = cs::store::seal_event_payload(keys, body, id);
  std::printf("%-44s %8.2f\n", "processing: open payload (AES-GCM + inflate)", us_per_call(n, [&] {
                sink += cs::store::open_event_payload(keys, sealed, id)->size();
              }));
  std::printf("(checksum %zu)\n", sink);
  return 0;
}
