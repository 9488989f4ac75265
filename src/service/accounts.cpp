#include "service/accounts.h"

#include "store/auth.h"
#include "util/crypto.h"
#include "util/password.h"

namespace cs::service {
namespace {

bool valid_token_shape(const std::string& t) {
  return t.size() == 32 && t.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::string token_hash(const std::string& token) {
  return crypto::hex_encode(crypto::sha256(token));
}

Result<std::string> create_setup_token(Context& ctx) {
  int64_t now = ctx.clock.now_ms();
  std::string token = crypto::random_hex(16);
  bool has_admin = false;
  if (ctx.reads) {  // the usual case (an admin exists) needs no write transaction
    auto db = ctx.reads->lease();
    if (store::find_admin_password_hash(*db)) return std::string();
  }
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    has_admin = store::find_admin_password_hash(db).has_value();
    if (!has_admin) store::save_setup_token(db, token_hash(token), now, now + kSetupLinkMs);
  });
  if (!st) return Error{"cannot store the setup link: " + st.error()};
  return has_admin ? std::string() : token;
}

bool admin_exists(Context& ctx) {
  auto db = ctx.reads->lease();
  return store::find_admin_password_hash(*db).has_value();
}

bool setup_token_usable(Context& ctx, const std::string& token) {
  if (!valid_token_shape(token)) return false;
  auto db = ctx.reads->lease();
  return !store::find_admin_password_hash(*db) &&
         store::setup_token_valid(*db, token_hash(token), ctx.clock.now_ms());
}

SetupOutcome complete_setup(Context& ctx, const std::string& token, const std::string& password,
                            const std::string& confirm) {
  SetupOutcome out;
  out.problem = password::check_strength(password);
  if (out.problem.empty() && password != confirm) {
    out.problem = "The two passwords are not the same.";
  }
  if (!out.problem.empty()) return out;
  std::string encoded = password::hash(password);
  int64_t now = ctx.clock.now_ms();
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    if (!valid_token_shape(token) || store::find_admin_password_hash(db)) return;
    out.used = store::use_setup_token(db, token_hash(token), now);
    if (out.used) {
      store::save_admin_password(db, encoded, now);
      audit(db, now, "admin_password_set", "setup_link");
    }
  });
  if (!st) throw std::runtime_error(st.error());
  return out;
}

Status save_admin_password(Context& ctx, const std::string& pw) {
  if (auto problem = password::check_strength(pw); !problem.empty()) return Error{problem};
  std::string encoded = password::hash(pw);
  int64_t now = ctx.clock.now_ms();
  return ctx.writer.run([&](SQLite::Database& db) {
    store::save_admin_password(db, encoded, now);
    audit(db, now, "admin_password_set", "cli");
  });
}

bool password_matches(Context& ctx, const std::string& pw) {
  std::optional<std::string> hash;
  {
    auto db = ctx.reads->lease();
    hash = store::find_admin_password_hash(*db);
  }
  return hash && pw.size() <= password::kMaxLength && password::verify(pw, *hash);
}

std::optional<store::SessionRow> MemorySessions::find(const std::string& id_hash) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(id_hash);
  if (it == rows_.end()) return std::nullopt;
  return it->second;
}

void MemorySessions::put(const store::SessionRow& row) {
  std::lock_guard<std::mutex> lock(mu_);
  rows_[row.id_hash] = row;
}

void MemorySessions::touch(const std::string& id_hash, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = rows_.find(id_hash); it != rows_.end()) it->second.last_seen_at = now;
}

void MemorySessions::erase(const std::string& id_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  rows_.erase(id_hash);
}

void MemorySessions::erase_expired(int64_t now, int64_t idle_before) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(rows_, [&](const auto& kv) {
    return kv.second.expires_at <= now || kv.second.last_seen_at < idle_before;
  });
}

std::optional<SessionInfo> resume_session(Context& ctx, const std::string& id_hash) {
  int64_t now = ctx.clock.now_ms();
  MemorySessions* mem = ctx.memory_sessions;
  std::optional<store::SessionRow> row;
  if (mem) {
    row = mem->find(id_hash);
  } else {
    auto db = ctx.reads->lease();
    row = store::find_session(*db, id_hash);
  }
  if (!row) return std::nullopt;
  if (now >= row->expires_at || now - row->last_seen_at >= kSessionIdleMs) {
    if (mem) {
      mem->erase(id_hash);
    } else {
      ctx.writer.run([&](SQLite::Database& db) { store::delete_session(db, id_hash); });
    }
    return std::nullopt;
  }
  if (now - row->last_seen_at >= 60 * 1000) {
    if (mem) {
      mem->touch(id_hash, now);
    } else {
      ctx.writer.run([&](SQLite::Database& db) { store::touch_session(db, id_hash, now); });
    }
  }
  return SessionInfo{"", id_hash, row->csrf_token};
}

SessionInfo start_session(Context& ctx, const std::optional<std::string>& replaces) {
  int64_t now = ctx.clock.now_ms();
  std::string id = crypto::random_hex(16);
  store::SessionRow row{token_hash(id), crypto::random_hex(32), now, now, now + kSessionAbsoluteMs};
  if (MemorySessions* mem = ctx.memory_sessions) {
    if (replaces) mem->erase(*replaces);
    mem->erase_expired(now, now - kSessionIdleMs);
    mem->put(row);
    return SessionInfo{id, row.id_hash, row.csrf_token};
  }
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    if (replaces) store::delete_session(db, *replaces);
    store::delete_expired_sessions(db, now, now - kSessionIdleMs);
    store::save_session(db, row);
  });
  if (!st) throw std::runtime_error("cannot store the session: " + st.error());
  return SessionInfo{id, row.id_hash, row.csrf_token};
}

void end_session(Context& ctx, const std::string& id_hash) {
  if (ctx.memory_sessions) return ctx.memory_sessions->erase(id_hash);
  ctx.writer.run([&](SQLite::Database& db) { store::delete_session(db, id_hash); });
}

}  // namespace cs::service
