#pragma once
// Names the calling thread (at most 15 characters), so that `top -H`, `ps -L`, perf and gdb show
// which of the service's threads is which.
#include <pthread.h>

namespace cs {

inline void name_this_thread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

}  // namespace cs
