// churn-saver: parse the command line and hand over to app/.
#include <malloc.h>

#include "app/cli.h"

int main(int argc, char** argv) {
  // glibc gives a thread's free memory back to the kernel (madvise) as soon as more than 128 KB
  // is free at the top of its heap, and the next allocation faults the pages in again. SQLite
  // opens an ephemeral table (about 200 KB of page cache) for every job claim and frees it at the
  // end of the statement: under webhook load that was one madvise per commit and about 30,000
  // page faults per second on the writer thread, each madvise also flushing the other core's TLB.
  // Keeping up to 4 MiB free per heap (and serving blocks below 1 MiB from the heap, not mmap)
  // ends that; idle memory does not change, since nothing is freed before the load.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  return cs::app::run_cli(argc, argv);
}
