// The worker side of process isolation (`kcs worker`): loads one backend (a built-in by name or a
// plug-in library), reports it, then serves calls whose tensors lie in the shared arena.
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "conformance/runner/fpenv.h"
#include "conformance/runner/guard.h"
#include "conformance/runner/ipc.h"
#include "conformance/runner/isolate.h"
#include "kcs/plugin_backend.h"

namespace kcs {

namespace {

// ASan reserves terabytes of shadow address space: a sanitized worker is limited by ASan's
// resident-memory cap (hard_rss_limit_mb, set by the parent) and measured by resident pages.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSpaceLimit = false;
#else
constexpr bool kAddressSpaceLimit = true;
#endif

uint64_t vm_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  if (std::fscanf(f, "%llu %llu", &size, &resident) != 2) size = resident = 0;
  const unsigned long long pages = kAddressSpaceLimit ? size : resident;
  std::fclose(f);
  return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// The arena as the fault handler sees it. `sealed` is set before the pages become read-only and
// cleared after they are writable again, so a fault on a sealed arena page is always a late write.
uint8_t* volatile g_arena = nullptr;
volatile size_t g_mapped = 0;
volatile sig_atomic_t g_sealed = 0;

void on_fault(int sig, siginfo_t* si, void*) {
  const auto a = reinterpret_cast<uintptr_t>(si->si_addr), b = reinterpret_cast<uintptr_t>(g_arena);
  if (g_sealed && b && a >= b && a - b < g_mapped) {
    const uint64_t off = a - b;
    (void)!pwrite(ipc::kArenaFd, &off, sizeof off, static_cast<off_t>(g_mapped));
    _exit(ipc::kLateWriteExit);
  }
  // Any other fault (or a raise()) ends the worker with the signal, as without this handler.
  signal(sig, SIG_DFL);
  raise(sig);
}

void seal(uint8_t* base, size_t mapped, bool on) {
  if (!base) return;
  if (on) g_sealed = 1;
  mprotect(base, mapped, on ? PROT_READ : PROT_READ | PROT_WRITE);
  if (!on) g_sealed = 0;
}

}  // namespace

int worker_main(int argc, char** argv) {
  std::string backend, lib;
  uint64_t max_memory = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--backend") backend = v;
    else if (k == "--backend-lib") lib = v;
    else if (k == "--max-memory") max_memory = std::stoull(v);
  }
  const int sock = ipc::kSocketFd;
  // The worker must not outlive a parent that died without killing it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  if (max_memory && kAddressSpaceLimit) {
    rlimit r{max_memory, max_memory};
    setrlimit(RLIMIT_AS, &r);
  }

  const FpEnv fp0 = FpEnv::save();
  std::unique_ptr<Backend> be;
  nlohmann::json hello = {{"op", "hello"}};
  if (!lib.empty()) {
    auto p = PluginBackend::load(lib);
    hello["load_error"] = p->load_error();
    be = std::move(p);
  } else {
    be = make_builtin_backend(backend);
    if (!be) hello["load_error"] = "unknown backend '" + backend + "'";
  }
  const FpEnv fp1 = FpEnv::save();
  hello["fp"] = describe_fp_change(fp0, fp1);
  fp0.restore();
  if (be) {
    hello["name"] = be->name();
    hello["describe"] = be->describe();
    const Availability a = be->availability();
    hello["runnable"] = a.runnable;
    hello["reason"] = a.reason;
    nlohmann::json ks = nlohmann::json::array();
    for (const KernelDecl* k : all_kernels())
      if (be->supports(k->id)) ks.push_back(k->id);
    hello["kernels"] = ks;
  }
  if (!ipc::send_json(sock, hello) || !be) return 0;

  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);

  uint8_t* base = nullptr;
  size_t mapped = 0;
  nlohmann::json m;
  while (ipc::recv_json(sock, m)) {
    nlohmann::json reply = {{"op", "done"}};
    seal(base, mapped, false);
    try {
      const size_t size = m.at("arena").get<size_t>();
      if (size > mapped) {
        if (base) munmap(base, mapped);
        g_arena = nullptr;
        void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, ipc::kArenaFd, 0);
        if (p == MAP_FAILED) throw Error(std::string("cannot map the call arena: ") + std::strerror(errno));
        base = static_cast<uint8_t*>(p);
        mapped = size;
        g_mapped = mapped;
        g_arena = base;
      }
      const KernelDecl& decl = kernel_or_throw(m.at("kernel").get<std::string>());
      Problem prob;
      prob.kernel = decl.id;
      prob.dims = m.at("dims").get<Dims>();
      prob.attrs = m.at("attrs").get<Attrs>();
      TileConfig tile;
      tile.knobs = m.at("knobs").get<std::map<std::string, int64_t>>();
      ArenaLayout l;
      for (const auto& s : m.at("slots")) {
        ArenaSlot a;
        a.name = s.at("name").get<std::string>();
        a.dtype = static_cast<DType>(s.at("dtype").get<int>());
        a.shape = s.at("shape").get<Shape>();
        a.offset = s.at("offset").get<size_t>();
        l.slots.push_back(a);
      }
      TensorMap views = arena_views(base, l);
      Invocation inv{&decl, &prob, &views, tile, m.at("threads").get<int>()};
      const FpEnv before = FpEnv::save();
      const auto t0 = std::chrono::steady_clock::now();
      const Status s = be->run(inv);
      reply["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const FpEnv after = FpEnv::save();
      reply["fp"] = describe_fp_change(before, after);
      before.restore();
      reply["ok"] = s.ok;
      reply["message"] = s.message;
      // A refused allocation near the limit is the memory limit, whatever the backend called it.
      reply["oom"] = !s.ok && max_memory && vm_bytes() > max_memory / 10 * 9;
    } catch (const std::exception& e) {
      reply["ok"] = false;
      reply["message"] = std::string("worker: ") + e.what();
      reply["oom"] = false;
    }
    seal(base, mapped, true);
    if (!ipc::send_json(sock, reply)) break;
  }
  return 0;
}

}  // namespace kcs
