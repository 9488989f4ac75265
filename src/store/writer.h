#pragma once
// The single writer (DESIGN.md §4): one connection, one thread. Callers hand it a task and wait;
// the thread runs whatever has queued (up to a bound) in ONE transaction, each task in its own
// savepoint, commits with synchronous=FULL, and then wakes every caller. A task's effects are
// durable when run() returns Ok; a failed task is rolled back alone; a failed commit fails all.
//
// WAL checkpoints run on a thread of their own (WalCheckpointer, writer.cpp) instead of inside the
// commit that crossed SQLite's 1,000-page mark: copying the pages back and syncing the database
// file no longer holds up the webhooks waiting for the next commit.
//
// Urgent tasks (webhook inserts: a sender waits for the 200) go first: a transaction runs the
// urgent tasks queued before the normal ones, urgent tasks that arrive while it runs join it
// before its commit, and a long normal task (event processing) can ask urgent_waiting() and end
// early so that they do not wait for it.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <SQLiteCpp/Database.h>

#include "util/result.h"

struct sqlite3;

namespace cs::store {

class WalCheckpointer;

class Writer {
 public:
  using Task = std::function<void(SQLite::Database&)>;
  enum class Priority { Normal, Urgent };

  /// Takes ownership of the writer connection and starts the thread.
  explicit Writer(std::unique_ptr<SQLite::Database> db, size_t max_batch = 512);
  /// Finishes every queued task, then stops the thread.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// Runs `task` on the writer thread inside a group transaction and blocks until it is durably
  /// committed (Ok) or failed (Error with the exception's message). Exceptions thrown by the task
  /// roll back only that task.
  Status run(Task task, Priority priority = Priority::Normal);
  /// True while an urgent task waits for the writer thread (a long task may end early, having
  /// done part of its work, to let it in: the urgent task then joins the same transaction).
  bool urgent_waiting() const { return urgent_waiting_.load(std::memory_order_relaxed) != 0; }

  /// Runs `fn` and returns its value once committed.
  template <class T>
  Result<T> run_value(std::function<T(SQLite::Database&)> fn) {
    std::optional<T> out;
    Status st = run([&](SQLite::Database& db) { out = fn(db); });
    if (!st) return Error{st.error()};
    return std::move(*out);
  }

  /// Tasks waiting for the writer thread, urgent and normal (for tests).
  size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return urgent_.size() + queue_.size();
  }
  /// Number of commits made (for tests and metrics).
  uint64_t commits() const { return commits_.load(); }
  /// Checkpoints run by the background checkpointer, and inline by the writer: what a background
  /// run left, when at most kWalInlineMaxPages (for tests).
  uint64_t background_checkpoints() const;
  uint64_t inline_checkpoints() const { return inline_checkpoints_.load(); }
  /// The most WAL pages an inline checkpoint had left to copy (for tests).
  int largest_inline_checkpoint() const { return largest_inline_checkpoint_.load(); }
  /// WAL size (pages) that wakes the background checkpointer: SQLite's own autocheckpoint mark.
  static constexpr int kWalCheckpointPages = 1000;
  /// The most pages (1 MiB) the writer copies itself after a background run; with more left,
  /// the checkpointer runs again.
  static constexpr int kWalInlineMaxPages = 256;
  /// False after a commit that had something to write failed, until one succeeds (readiness and
  /// the "database_unwritable" alert read it; an empty transaction says nothing either way).
  bool last_commit_ok() const { return last_commit_ok_.load(); }
  /// The failed commit's error ("" while last_commit_ok()).
  std::string last_commit_error() const {
    std::lock_guard<std::mutex> lock(error_mu_);
    return last_commit_error_;
  }
  /// Set to make every commit fail (tests of the "database cannot be written" path).
  void set_fail_commits_for_test(bool on) { fail_commits_.store(on); }

 private:
  struct Pending {
    Task task;
    std::promise<std::string> done;  // "" = ok, else the error
  };
  void loop();
  void run_batch(std::deque<Pending>& batch);
  /// Moves queued urgent tasks into `batch` (up to the bound); false when there were none.
  bool take_urgent(std::deque<Pending>& batch);
  /// sqlite3_wal_hook: after each commit, on the writer thread.
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int pages);

  std::unique_ptr<SQLite::Database> db_;
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> urgent_;  // taken first
  std::deque<Pending> queue_;
  std::atomic<size_t> urgent_waiting_{0};  // urgent_.size(), readable without the lock
  bool stopping_ = false;
  std::atomic<uint64_t> commits_{0};
  std::atomic<bool> fail_commits_{false};
  std::atomic<bool> last_commit_ok_{true};
  mutable std::mutex error_mu_;
  std::string last_commit_error_;
  bool last_failure_wrote_ = false;  // under error_mu_
  std::atomic<uint64_t> inline_checkpoints_{0};
  std::atomic<int> largest_inline_checkpoint_{0};
  // The WAL cycle (on_wal_commit, writer thread only): its last size, whether the checkpointer
  // was asked in this cycle, and its run count then.
  int wal_pages_ = 0;
  bool wal_asked_ = false;
  uint64_t wal_runs_when_asked_ = 0;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // none for a database without a file
  std::thread thread_;
};

}  // namespace cs::store
