#include "store/writer.h"

#include <sqlite3.h>

#include "store/statements.h"
#include "util/log.h"

namespace cs::store {

Writer::Writer(std::unique_ptr<SQLite::Database> db, size_t max_batch)
    : db_(std::move(db)), max_batch_(max_batch) {
  enable_statement_cache(*db_);
  thread_ = std::thread([this] { loop(); });
}

Writer::~Writer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  forget_statements(*db_);
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
