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

  uint8_t* base = nullptr;
  size_t mapped = 0;
  nlohmann::json m;
  while (ipc::recv_json(sock, m)) {
    nlohmann::json reply = {{"op", "done"}};
    try {
      const size_t size = m.at("arena").get<size_t>();
      if (size > mapped) {
        if (base) munmap(base, mapped);
        void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, ipc::kArenaFd, 0);
        if (p == MAP_FAILED) throw Error(std::string("cannot map the call arena: ") + std::strerror(errno));
        base = static_cast<uint8_t*>(p);
        mapped = size;
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
    if (!ipc::send_json(sock, reply)) break;
  }
  return 0;
}

}  // namespace kcs
