#include "util/compress.h"

#include <zlib.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace cs::compress {

namespace {

/// One deflate stream per thread, reset between uses (a per-call deflateInit allocates its state
/// every time). Sized for webhook bodies of a few KB after a preset dictionary of about 6 KB:
/// - an 8 KB window (windowBits 13) holds the dictionary and a typical body; a longer body still
///   compresses, against its last 8 KB. Inflate (32 KB window) reads these streams unchanged.
/// - memLevel 4: hash tables of 4 KB instead of 128 KB, which deflateReset clears on every call
///   and which, per HTTP worker thread, no longer push each other out of the CPU cache;
/// - level 3: on a 2.6 KB payment.failed body with the dictionary, 745 bytes in about 27 us
///   against 708 bytes in about 63 us at level 6 with the defaults (bench/ingest_stages).
constexpr int kLevel = 3, kWindowBits = 13, kMemLevel = 4;

voidpf heap_alloc(voidpf, uInt items, uInt size) {
  return std::calloc(static_cast<size_t>(items), static_cast<size_t>(size));
}
void heap_free(voidpf, voidpf p) {
  std::free(p);
}

/// Room for one deflate state of the parameters above (about 46 KB: the state, the 2 x 8 KB
/// window, the 16 KB chain, the 4 KB hash table and the 4 KB pending buffer), handed out in
/// order and taken back all at once before the next use. No malloc, no free per call.
struct Arena {
  static constexpr size_t kBytes = 64 * 1024;
  alignas(64) unsigned char bytes[kBytes];
  size_t used = 0;
};
voidpf arena_alloc(voidpf opaque, uInt items, uInt size) {
  auto* a = static_cast<Arena*>(opaque);
  const size_t n = (static_cast<size_t>(items) * size + 63) & ~static_cast<size_t>(63);
  if (n > Arena::kBytes - a->used) return Z_NULL;  // deflateCopy fails: the plain path runs
  void* p = a->bytes + a->used;
  a->used += n;
  return p;
}
void arena_free(voidpf, voidpf) {}

/// One deflate stream per thread, reset between uses (a per-call deflateInit allocates its state
/// every time). Used without a dictionary, and if a primed copy cannot be made.
struct Deflater {
  z_stream zs{};
  bool ok = false;
  Deflater() {
    zs.zalloc = heap_alloc;
    zs.zfree = heap_free;
    ok = deflateInit2(&zs, kLevel, Z_DEFLATED, kWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Deflater() {
    if (ok) deflateEnd(&zs);
  }
};

/// A stream that has read the dictionary once and is never used itself: each call deflates with
/// a copy of it (deflateCopy into its own arena). Loading a 6 KB dictionary costs a third of
/// a seal (its hash chains and its adler32); copying the primed state costs a memcpy of 46 KB.
/// The output is byte for byte what a reset stream given the same dictionary writes.
struct PrimedDeflater {
  Deflater base;
  std::string dictionary;  // what `base` has read: "" until primed (dictionaries are never "")
  std::unique_ptr<Arena> arena;  // on the heap, made when first primed

  bool prime(std::string_view dict) {
    if (!dictionary.empty() && dict == dictionary) return true;
    if (!arena) arena = std::make_unique<Arena>();
    const bool ok = base.ok && deflateReset(&base.zs) == Z_OK &&
                    deflateSetDictionary(&base.zs, reinterpret_cast<const Bytef*>(dict.data()),
                                         static_cast<uInt>(dict.size())) == Z_OK;
    dictionary.assign(ok ? dict : std::string_view());
    return ok;
  }
  /// A copy of the primed stream in `out` (arena memory; no deflateEnd needed), or false.
  bool copy(z_stream& out) {
    arena->used = 0;
    // deflateCopy allocates the copy with the source's functions: lend it the arena's.
    base.zs.zalloc = arena_alloc;
    base.zs.zfree = arena_free;
    base.zs.opaque = arena.get();
    const bool ok = deflateCopy(&out, &base.zs) == Z_OK;
    base.zs.zalloc = heap_alloc;
    base.zs.zfree = heap_free;
    base.zs.opaque = Z_NULL;
    return ok;
  }
};

std::string finish(z_stream& zs, std::string_view data) {
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (::deflate(&zs, Z_FINISH) != Z_STREAM_END) {
    throw std::runtime_error("zlib compression failed");
  }
  out.resize(out.size() - zs.avail_out);
  return out;
}

/// The primed deflaters, shared by every thread: as many as ever deflated at the same moment
/// (a few; at most about the cores), not one per HTTP worker (32). The one taken is the one
/// returned last, so its 46 KB state and its arena are still in the CPU cache; one per worker
/// thread made each seal copy a state that other workers had pushed out of the cache.
class PrimedPool {
 public:
  /// A deflater for the caller's use until the lease ends.
  class Lease {
   public:
    explicit Lease(PrimedPool& pool) : pool_(pool), d_(pool.take()) {}
    ~Lease() { pool_.give(std::move(d_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    PrimedDeflater* operator->() const { return d_.get(); }

   private:
    PrimedPool& pool_;
    std::unique_ptr<PrimedDeflater> d_;
  };

 private:
  std::unique_ptr<PrimedDeflater> take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return std::make_unique<PrimedDeflater>();
    auto d = std::move(free_.back());
    free_.pop_back();
    return d;
  }
  void give(std::unique_ptr<PrimedDeflater> d) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(d));
  }
  std::mutex mu_;
  std::vector<std::unique_ptr<PrimedDeflater>> free_;
};

}  // namespace

std::string deflate(std::string_view data, std::string_view dictionary) {
  if (!dictionary.empty()) {
    static PrimedPool pool;
    PrimedPool::Lease primed(pool);
    z_stream copy;
    if (primed->prime(dictionary) && primed->copy(copy)) return finish(copy, data);
  }
  thread_local Deflater d;
  if (!d.ok || deflateReset(&d.zs) != Z_OK) throw std::runtime_error("zlib init failed");
  if (!dictionary.empty() &&
      deflateSetDictionary(&d.zs, reinterpret_cast<const Bytef*>(dictionary.data()),
                           static_cast<uInt>(dictionary.size())) != Z_OK) {
    throw std::runtime_error("zlib dictionary failed");
  }
  return finish(d.zs, data);
}

Result<std::string> inflate(std::string_view data, size_t max_size, std::string_view dictionary) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Error{"zlib init failed"};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = ::inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_NEED_DICT && !dictionary.empty()) {
      rc = inflateSetDictionary(&zs, reinterpret_cast<const Bytef*>(dictionary.data()),
                                static_cast<uInt>(dictionary.size()));
      if (rc == Z_OK) continue;
    }
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Error{"stored payload is corrupt"};
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_size) {
      inflateEnd(&zs);
      return Error{"stored payload is too large"};
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Error{"stored payload is truncated"};
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace cs::compress
