// fake-whop: the project's fake Whop as a standalone server, for browser tests and benchmarks.
//   fake-whop --port N --secret S --api-key K [--retry-scale X]
// Serves the REST API under /api/v1 and the control API under /_fake (see fake_whop.h), prints
// "fake-whop listening on http://127.0.0.1:PORT" once ready, and runs until SIGINT or SIGTERM.
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include <pthread.h>

#include "support/fake_whop.h"

namespace {

int usage(std::ostream& out, int code) {
  out << "usage: fake-whop [--port N] [--secret S] [--api-key K] [--retry-scale X]\n"
         "  --port N         TCP port on 127.0.0.1 (0 = ephemeral, the default)\n"
         "  --secret S       webhook signing secret (default ws_test_secret)\n"
         "  --api-key K      bearer token the REST API accepts (default test_api_key)\n"
         "  --retry-scale X  multiplies Whop's 10/20/40 s webhook retry delays (default 0.001)\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string secret = "ws_test_secret";
  std::string api_key = "test_api_key";
  double retry_scale = 0.001;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") return usage(std::cout, 0);
      if (i + 1 >= argc) return usage(std::cerr, 2);
      std::string value = argv[++i];
      if (arg == "--port") {
        port = std::stoi(value);
      } else if (arg == "--secret") {
        secret = value;
      } else if (arg == "--api-key") {
        api_key = value;
      } else if (arg == "--retry-scale") {
        retry_scale = std::stod(value);
      } else {
        return usage(std::cerr, 2);
      }
    }
  } catch (const std::exception&) {
    return usage(std::cerr, 2);
  }
  if (port < 0 || port > 65535 || retry_scale < 0) return usage(std::cerr, 2);

  // Block the stop signals in every thread (the server's threads inherit this mask) and take
  // them synchronously below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  try {
    cs::test::FakeWhop fake(secret, api_key, retry_scale, port);
    fake.enable_control_api();
    std::cout << "fake-whop listening on http://127.0.0.1:" << fake.port() << std::endl;
    int sig = 0;
    sigwait(&stop, &sig);
  } catch (const std::exception& e) {
    std::cerr << "fake-whop: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
