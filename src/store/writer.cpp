#include "store/writer.h"

#include <sqlite3.h>

#include <algorithm>

#include "store/db.h"
#include "store/statements.h"
#include "util/log.h"
#include "util/thread_name.h"

namespace cs::store {

/// Runs PASSIVE checkpoints on its own connection and thread when the writer says the WAL has
/// grown. A passive checkpoint takes no lock that the writer or the readers wait for: it copies
/// the committed pages back into the database file while new commits append to the WAL.
class WalCheckpointer {
 public:
  explicit WalCheckpointer(const std::string& path)
      : db_(open_connection(path, ConnectionRole::Writer)) {
    thread_ = std::thread([this] {
      name_this_thread("cs-checkpoint");
      loop();
    });
  }
  ~WalCheckpointer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void request() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      wanted_ = true;
    }
    cv_.notify_one();
  }
  uint64_t runs() const { return runs_.load(); }
  /// WAL frames copied into the database file as of the last run (0 when it could not tell).
  int backfilled() const { return backfilled_.load(); }

 private:
  void loop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || wanted_; });
        if (stopping_) return;
        wanted_ = false;
      }
      int copied = -1;
      int rc = ::sqlite3_wal_checkpoint_v2(db_->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           nullptr, &copied);
      backfilled_.store(rc == SQLITE_OK ? std::max(copied, 0) : 0);
      runs_.fetch_add(1);  // after backfilled_: a reader that sees the run sees its count
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log::warn("WAL checkpoint failed", {{"error", ::sqlite3_errstr(rc)}});
      }
    }
  }

  std::unique_ptr<SQLite::Database> db_;  // used by this thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> runs_{0};
  std::atomic<int> backfilled_{0};
  std::thread thread_;
};

Writer::Writer(std::unique_ptr<SQLite::Database> db, size_t max_batch)
    : db_(std::move(db)), max_batch_(max_batch) {
  enable_statement_cache(*db_);
  // A database in a file (in WAL mode, as every connection opens it): checkpoints move to the
  // checkpointer. The hook replaces SQLite's autocheckpoint (which is itself a WAL hook).
  const char* file = ::sqlite3_db_filename(db_->getHandle(), "main");
  if (file && *file) {
    try {
      checkpointer_ = std::make_unique<WalCheckpointer>(file);
      ::sqlite3_wal_hook(db_->getHandle(), &Writer::on_wal_commit, this);
    } catch (const std::exception& e) {
      log::warn("WAL checkpoints stay in the writer", {{"error", e.what()}});
    }
  }
  thread_ = std::thread([this] {
    name_this_thread("cs-writer");
    loop();
  });
}

Writer::~Writer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (checkpointer_) {
    ::sqlite3_wal_hook(db_->getHandle(), nullptr, nullptr);
    ::sqlite3_wal_autocheckpoint(db_->getHandle(), kWalCheckpointPages);
    checkpointer_.reset();
  }
  forget_statements(*db_);
}

uint64_t Writer::background_checkpoints() const {
  return checkpointer_ ? checkpointer_->runs() : 0;
}

int Writer::on_wal_commit(void* self, sqlite3* db, const char* schema, int pages) {
  auto* w = static_cast<Writer*>(self);
  // One cycle per run of the WAL from its beginning: past 1,000 pages the checkpointer copies
  // what is committed then. Once it is done, the next commit copies what is left itself when that
  // is little (the pages committed meanwhile), and the transaction after it starts the WAL from
  // its beginning again; when much is left (a reader held an old snapshot, e.g. a backup's
  // VACUUM INTO, and the WAL grew past it), the checkpointer is asked again: the writer never
  // copies a backlog while webhooks wait for its next commit. (Asking after every commit would
  // copy the same hot pages over and over, and the WAL would never restart under constant
  // writes.)
  if (pages < w->wal_pages_) w->wal_asked_ = false;  // the WAL restarted
  w->wal_pages_ = pages;
  if (w->wal_asked_ && w->checkpointer_->runs() > w->wal_runs_when_asked_) {
    w->wal_asked_ = false;
    const int left = std::max(pages - w->checkpointer_->backfilled(), 0);
    if (left <= kWalInlineMaxPages) {
      ::sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      w->inline_checkpoints_.fetch_add(1);
      if (left > w->largest_inline_checkpoint_.load()) w->largest_inline_checkpoint_.store(left);
      return SQLITE_OK;
    }
  }
  if (pages >= kWalCheckpointPages && !w->wal_asked_) {
    w->wal_runs_when_asked_ = w->checkpointer_->runs();
    w->checkpointer_->request();
    w->wal_asked_ = true;
  }
  return SQLITE_OK;
}

Status Writer::run(Task task, Priority priority) {
  Pending p{std::move(task), {}};
  auto fut = p.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Error{"database writer is shutting down"};
    if (priority == Priority::Urgent) {
      urgent_.push_back(std::move(p));
      urgent_waiting_.store(urgent_.size(), std::memory_order_relaxed);
    } else {
      queue_.push_back(std::move(p));
    }
  }
  cv_.notify_one();
  std::string err = fut.get();
  if (!err.empty()) return Error{err};
  return Ok{};
}

void Writer::loop() {
  for (;;) {
    std::deque<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !urgent_.empty(); });
      if (queue_.empty() && urgent_.empty() && stopping_) return;
      while (!urgent_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(urgent_.front()));
        urgent_.pop_front();
      }
      urgent_waiting_.store(urgent_.size(), std::memory_order_relaxed);
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    run_batch(batch);
  }
}

bool Writer::take_urgent(std::deque<Pending>& batch) {
  if (urgent_waiting_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  bool took = false;
  while (!urgent_.empty() && batch.size() < max_batch_) {
    batch.push_back(std::move(urgent_.front()));
    urgent_.pop_front();
    took = true;
  }
  urgent_waiting_.store(urgent_.size(), std::memory_order_relaxed);
  return took;
}

void Writer::run_batch(std::deque<Pending>& batch) {
  std::vector<std::string> errors(batch.size());
  std::string commit_error = fail_commits_.load() ? "commit refused (test)" : "";
  // Fast path: every task in one transaction with no savepoints. Tasks rarely fail; when one
  // does, the whole transaction is rolled back and the batch runs again with a savepoint per task
  // so the failing task is rolled back alone. (Tasks only assign their outputs, so running one
  // twice is harmless.)
  bool need_savepoints = false;
  const int changes_before = ::sqlite3_total_changes(db_->getHandle());
  std::string disk_error;  // a task failed because the file cannot be written
  for (int pass = 0; pass < 2 && commit_error.empty(); ++pass) {
    bool savepoints = pass == 1;
    if (savepoints && !need_savepoints) break;
    std::fill(errors.begin(), errors.end(), std::string());
    try {
      db_->exec("BEGIN IMMEDIATE");
    } catch (const std::exception& e) {
      commit_error = std::string("database busy or unwritable: ") + e.what();
      break;
    }
    bool failed = false;
    for (size_t i = 0; commit_error.empty(); ++i) {
      // Urgent tasks that arrived while this transaction ran join it (their callers wait for one
      // commit, not for this one and then their own).
      if (i == batch.size() && !take_urgent(batch)) break;
      errors.resize(batch.size());
      try {
        if (savepoints) db_->exec("SAVEPOINT task");
        batch[i].task(*db_);
        if (savepoints) db_->exec("RELEASE task");
      } catch (const std::exception& e) {
        errors[i] = e.what();
        if (errors[i].empty()) errors[i] = "database task failed";
        if (auto* se = dynamic_cast<const SQLite::Exception*>(&e)) {
          int code = se->getErrorCode() & 0xff;
          if (code == SQLITE_READONLY || code == SQLITE_IOERR || code == SQLITE_FULL ||
              code == SQLITE_CANTOPEN) {
            disk_error = errors[i];
          }
        }
        if (!savepoints) {
          failed = true;
          break;
        }
        try {
          db_->exec("ROLLBACK TO task");
          db_->exec("RELEASE task");
        } catch (const std::exception& e2) {
          commit_error = std::string("savepoint rollback failed: ") + e2.what();
        }
      }
    }
    if (failed) {
      need_savepoints = true;
      try {
        db_->exec("ROLLBACK");
      } catch (...) {
      }
      continue;
    }
    try {
      if (commit_error.empty()) {
        db_->exec("COMMIT");
        commits_.fetch_add(1);
        break;
      }
    } catch (const std::exception& e) {
      commit_error = std::string("database commit failed: ") + e.what();
    }
    try {
      db_->exec("ROLLBACK");
    } catch (...) {
    }
  }
  if (!commit_error.empty()) log::error("write transaction failed", {{"error", commit_error}});
  // Only a transaction that wrote something tells whether the disk takes writes: an empty one
  // (the readiness probe) commits even on a read-only filesystem.
  bool wrote = ::sqlite3_total_changes(db_->getHandle()) != changes_before;
  // A failure of a transaction that wrote (or tried to) is cleared only by one that wrote; the
  // failure of an empty one (nothing could commit at all) also by an empty one.
  const std::string& health_error = commit_error.empty() ? disk_error : commit_error;
  bool tried_to_write = wrote || !disk_error.empty();
  errors.resize(batch.size());
  std::lock_guard<std::mutex> lock(error_mu_);
  if (!health_error.empty()) {
    last_commit_error_ = health_error;
    last_failure_wrote_ = tried_to_write;
    last_commit_ok_.store(false);
  } else if (wrote || !last_failure_wrote_) {
    last_commit_error_.clear();
    last_commit_ok_.store(true);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done.set_value(commit_error.empty() ? errors[i] : commit_error);
  }
}

}  // namespace cs::store
