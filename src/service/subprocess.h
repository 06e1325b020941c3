// Runs a child process (the daemon runs CLI verbs of its own binary for long
// work: a crash or leak in one job cannot take the daemon down, memory is
// returned after every job, and cancelling means terminating the child).
//
// Secrets go to the child through its environment, never its arguments
// (arguments are visible to every user in `ps`).
#ifndef VECSAFE_SERVICE_SUBPROCESS_H_
#define VECSAFE_SERVICE_SUBPROCESS_H_

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::service {

struct ChildResult {
  int exit_status = -1;  // -1 when killed by a signal
  int signal = 0;
  bool cancelled = false;
  bool timed_out = false;
  std::string out;  // stdout, at most max_output bytes
  std::string err;  // stderr, at most max_output bytes
};

struct ChildOptions {
  std::vector<std::string> argv;                     // argv[0] is the program path
  std::map<std::string, std::string> env_overrides;  // added to (or replacing) ours
  const std::atomic<bool>* cancel = nullptr;         // polled; SIGTERM then SIGKILL after 10 s
  int timeout_seconds = 0;                           // 0: none
  size_t max_output = 16 << 20;
};

// Runs the child to completion. Fails only when it cannot be started.
Result<ChildResult> RunChild(const ChildOptions& options);

// Path of the running vecsafe binary (/proc/self/exe).
std::string SelfExecutable();

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_SUBPROCESS_H_
