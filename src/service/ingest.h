#pragma once
// Durable webhook ingestion: verify the signature over the raw body, parse (depth-limited), map
// the plaintext projection, seal the full body, and store the event together with its processing
// job in the writer's next group commit. The caller answers 2xx only when `status` is 200.
#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "service/context.h"
#include "whop/signature.h"

namespace cs::service {

/// What ingestion needs beyond the services' context (whose wake_jobs is called after a new
/// event was committed).
struct IngestContext {
  Context& ctx;
  /// The webhook secrets in force (read per request so the settings page can change them).
  std::function<std::vector<std::string>()> secrets;
  /// A reason to refuse every delivery with 503 (e.g. the database failed its check); "" = none.
  std::function<std::string()> refusal;
};

struct IngestResult {
  int status = 500;
  std::string reason;   // stable short code: "stored", "duplicate", "bad_signature", ...
  std::string message;  // what a person reads in the response body
  std::string webhook_id;
};

/// Ingests one delivery. Statuses: 200 stored or duplicate; 401 signature problems; 400 invalid
/// JSON, nesting over 64, no event type or a malformed webhook-id; 503 no secret configured or
/// the database could not be written.
IngestResult ingest_webhook(IngestContext& in, const whop::SignatureHeaders& headers,
                            std::string_view body);

}  // namespace cs::service
