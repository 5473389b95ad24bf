// Process isolation of the backend under test. The code under test runs in a worker process
// (`kcs worker`, posix_spawn of the kcs binary: a fresh process, never a fork of one that already
// ran OpenMP); the trusted parent generates inputs, computes the reference and scores. A call's
// tensors travel in a guarded arena in shared memory (memfd, conformance/runner/guard.h), control
// messages over a socketpair. The parent never dlopen()s a plug-in: the worker loads it and
// reports its name and kernels.
//
// A call that ends the worker (any signal, any exit, exit(0) included), runs past the timeout
// (the worker is killed) or exhausts its memory limit (RLIMIT_AS) is a fault of that call; the
// next call starts a fresh worker.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conformance/runner/guard.h"
#include "kcs/backend.h"

namespace kcs {

enum class Fault { none, crashed, timeout, out_of_memory };

// The outcome of one guarded call of a backend under test.
struct CallResult {
  Status status;
  Fault fault = Fault::none;
  std::string fault_message;            // "crashed: SIGSEGV", "timeout after 60 s", "out of memory (limit ...)"
  std::vector<CheckResult> integrity;   // failed input / guard / FP-environment checks
  TensorMap tensors;                    // out and inout tensors after the call (empty on a fault)
  double seconds = 0;
};

struct IsolationOptions {
  double timeout_s = 60;    // per call (and per plug-in load)
  uint64_t max_memory = 0;  // RLIMIT_AS of the worker in bytes; 0 = default_max_memory()
};
uint64_t default_max_memory();                // half of physical memory
uint64_t parse_memory_size(const std::string& s);  // "768M", "4G", "1048576"; throws kcs::Error
std::string memory_size_str(uint64_t bytes);        // "768 MiB"

// The kcs executable that serves as worker and appears in repro lines: $KCS_EXE, else this
// process when it is kcs, else the kcs built beside the library.
std::string kcs_exe();

class IsolatedBackend : public Backend {
 public:
  ~IsolatedBackend() override;
  // A built-in backend by name, or a plug-in library (`lib` true; the path is made absolute).
  // Never returns null: a plug-in that cannot load (or crashes loading) yields a backend that
  // claims every kernel and reports the load error / crash on every call.
  static std::unique_ptr<IsolatedBackend> start(const std::string& spec, bool lib, const IsolationOptions& o);

  std::string name() const override { return name_; }
  std::string describe() const override { return describe_; }
  Availability availability() const override { return avail_; }
  bool supports(const std::string& kernel) const override;
  bool ignores_tiles() const override { return ignores_tiles_; }  // a built-in that does (never a plug-in)

  const std::string& lib_path() const { return lib_ ? spec_ : empty_; }  // absolute; empty for a built-in
  const std::string& load_error() const { return load_error_; }
  const std::string& load_fault() const { return load_fault_; }     // "crashed: SIGSEGV while loading the plug-in"
  const std::string& load_fp_change() const { return load_fp_; }    // FP environment changed by the load
  int spawns() const { return spawns_; }

  // One guarded call in the worker; `given` holds every tensor of the call (outputs poisoned).
  CallResult call(const KernelDecl& decl, const Problem& p, const TensorMap& given, const TileConfig& tile,
                  int threads, const std::string& case_id);
  // After the trusted side has used the last call's results: a failed "late_write.<tensor>" check
  // when the worker ended writing into that call's arena after the call had returned (worker.cc
  // keeps the arena read-only between calls), naming the tensor and byte; else nothing.
  std::vector<CheckResult> late_writes();

 protected:
  // For callers that use Backend::run directly: the guarded call, results copied back; a fault or
  // an integrity failure becomes a failed Status.
  Status execute(const Invocation& inv) override;

 private:
  IsolatedBackend() = default;
  bool spawn(std::string* fault);  // starts a worker and reads its hello; false: *fault says why
  std::string reap(bool killed);   // waits for the worker; describes how it ended
  void stop_worker();
  void end_group();  // after the worker was reaped: kills what is left of its process group
  bool map_arena(size_t size);
  std::string late_write_message(std::string* tensor = nullptr) const;
  ArenaLayout last_;        // of the last call that returned, for late_writes()
  std::string last_case_;

  std::string spec_, empty_, name_, describe_, load_error_, load_fault_, load_fp_;
  bool lib_ = false, hello_ = false, ignores_tiles_ = false;
  Availability avail_;
  std::vector<std::string> kernels_;
  IsolationOptions opt_;
  pid_t pid_ = -1;
  int sock_ = -1, memfd_ = -1;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  int spawns_ = 0;
};

IsolatedBackend* as_isolated(Backend& b);
const IsolatedBackend* as_isolated(const Backend& b);

// Any backend's call behind the guards: in its worker when isolated, else in this process (input
// and guard checks, FP environment saved, checked and restored; no timeout).
CallResult guarded_call(Backend& be, const KernelDecl& decl, const Problem& p, const TensorMap& given,
                        const TileConfig& tile, int threads, const std::string& case_id);
// IsolatedBackend::late_writes() for an isolated backend; nothing for one that runs in-process.
std::vector<CheckResult> late_writes(Backend& be);

// `kcs worker ...` (tools/kcs.cc dispatches here): serves one backend over fds 3 (socket) and 4 (arena).
int worker_main(int argc, char** argv);

}  // namespace kcs
