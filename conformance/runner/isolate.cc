#include "conformance/runner/isolate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "conformance/runner/fpenv.h"
#include "conformance/runner/guard.h"
#include "conformance/runner/ipc.h"
#include "conformance/runner/stop_signal.h"

extern char** environ;

namespace kcs {

namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

std::string signal_name(int sig) {
  const char* a = sigabbrev_np(sig);
  return a ? std::string("SIG") + a : "signal " + std::to_string(sig);
}

// "build/libfoo.so" -> "foo": the name of a plug-in that could not tell its own.
std::string stem_name(const std::string& path) {
  std::string s = std::filesystem::path(path).stem().string();
  if (s.rfind("lib", 0) == 0 && s.size() > 3) s = s.substr(3);
  return s.empty() ? "plugin" : s;
}

// A descriptor number above the worker's fixed ones, close-on-exec.
int high_fd(int fd) {
  const int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  close(fd);
  return h;
}

// This process's arena for backends that run in-process.
uint8_t* local_arena(size_t size) {
  static uint8_t* p = nullptr;
  static size_t have = 0;
  if (size > have) {
    std::free(p);
    have = std::max(size, have * 2);
    p = static_cast<uint8_t*>(std::aligned_alloc(64, have));
    if (!p) throw Error("out of memory for a call arena of " + std::to_string(have) + " bytes");
  }
  return p;
}

}  // namespace

uint64_t default_max_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 2 : (8ull << 30);
}

uint64_t parse_memory_size(const std::string& s) {
  size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = used ? s.substr(used) : "?";
  uint64_t mul = 1;
  if (unit == "K" || unit == "KiB") mul = 1ull << 10;
  else if (unit == "M" || unit == "MiB") mul = 1ull << 20;
  else if (unit == "G" || unit == "GiB") mul = 1ull << 30;
  else if (!unit.empty()) throw Error("--max-memory wants a size such as 768M or 4G, got '" + s + "'");
  if (v == 0 || v > (1ull << 50) / mul) throw Error("--max-memory " + s + " is out of range (1 byte to 1 PiB)");
  return v * mul;
}

std::string memory_size_str(uint64_t b) {
  if (b % (1ull << 30) == 0) return std::to_string(b >> 30) + " GiB";
  if (b % (1ull << 20) == 0) return std::to_string(b >> 20) + " MiB";
  return std::to_string(b) + " bytes";
}

std::string kcs_exe() {
  if (const char* e = std::getenv("KCS_EXE"); e && *e) return e;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && self.filename() == "kcs") return self.string();
#ifdef KCS_CLI_PATH
  return KCS_CLI_PATH;
#else
  return "kcs";
#endif
}

IsolatedBackend::~IsolatedBackend() {
  stop_worker();
  if (base_) munmap(base_, size_);
  if (memfd_ >= 0) close(memfd_);
}

IsolatedBackend* as_isolated(Backend& b) { return dynamic_cast<IsolatedBackend*>(&b); }
const IsolatedBackend* as_isolated(const Backend& b) { return dynamic_cast<const IsolatedBackend*>(&b); }

std::unique_ptr<IsolatedBackend> IsolatedBackend::start(const std::string& spec, bool lib, const IsolationOptions& o) {
  std::unique_ptr<IsolatedBackend> b(new IsolatedBackend());
  b->lib_ = lib;
  b->spec_ = lib ? std::filesystem::absolute(spec).lexically_normal().string() : spec;
  b->opt_ = o;
  if (!b->opt_.max_memory) b->opt_.max_memory = default_max_memory();
  b->name_ = lib ? stem_name(spec) : spec;
  b->describe_ = lib ? "plug-in " + b->spec_ : spec;
  if (!lib)
    if (auto builtin = make_builtin_backend(spec)) b->ignores_tiles_ = builtin->ignores_tiles();
  b->memfd_ = memfd_create("kcs-call-arena", MFD_CLOEXEC);
  if (b->memfd_ < 0) throw Error(std::string("memfd_create: ") + std::strerror(errno));
  b->memfd_ = high_fd(b->memfd_);
  std::string fault;
  if (!b->spawn(&fault)) {
    b->load_fault_ = fault;
    b->describe_ = "broken plug-in " + b->spec_ + " (" + fault + ")";
  }
  return b;
}

bool IsolatedBackend::supports(const std::string& kernel) const {
  if (!hello_ || !load_error_.empty()) return true;  // every case records the load error or crash
  for (const auto& k : kernels_)
    if (k == kernel) return true;
  return false;
}

bool IsolatedBackend::spawn(std::string* fault) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw Error(std::string("socketpair: ") + std::strerror(errno));
  const int mine = high_fd(sv[0]), theirs = high_fd(sv[1]);
  const std::string exe = kcs_exe();
  std::vector<std::string> args = {exe, "worker", lib_ ? "--backend-lib" : "--backend", spec_, "--max-memory",
                                   std::to_string(opt_.max_memory)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, theirs, ipc::kSocketFd);
  posix_spawn_file_actions_adddup2(&fa, memfd_, ipc::kArenaFd);
  posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);  // kcs's stdout stays its own
  // ASan reserves terabytes of shadow address space, so a sanitized worker cannot run under
  // RLIMIT_AS: it gets ASan's own resident-memory cap instead (worker.cc skips the rlimit).
  std::vector<std::string> env_s;
  std::vector<char*> envp;
  char** env = environ;
#if defined(__SANITIZE_ADDRESS__)
  std::string asan = "ASAN_OPTIONS=";
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "ASAN_OPTIONS=", 13) == 0) asan = std::string(*e) + ":";
    else env_s.emplace_back(*e);
  }
  // Signals end the worker as they do outside ASan (the parent names them); ASan's own reports
  // of the code under test would turn every crash into exit(1).
  asan += "handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigfpe=0:handle_sigill=0:";
  if (opt_.max_memory) asan += "hard_rss_limit_mb=" + std::to_string(std::max<uint64_t>(opt_.max_memory >> 20, 1));
  env_s.push_back(asan);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  env = envp.data();
#endif
  // Its own process group, so that whatever a plug-in starts (a forked helper still holding kcs's
  // stderr would keep a piped run from ever ending) goes with the worker: see end_group().
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&at, 0);
  const int rc = posix_spawn(&pid_, exe.c_str(), &fa, &at, argv.data(), env);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  close(theirs);
  if (rc != 0) {
    close(mine);
    pid_ = -1;
    throw Error("cannot start the worker " + exe + ": " + std::strerror(rc));
  }
  sock_ = mine;
  ++spawns_;
  const char* what = lib_ ? " while loading the plug-in" : " while starting";
  pollfd pf{sock_, POLLIN, 0};
  const int pr = poll(&pf, 1, static_cast<int>(std::ceil(opt_.timeout_s * 1000)));
  nlohmann::json h;
  if (pr == 0) {
    kill(pid_, SIGKILL);
    reap(true);
    *fault = "timeout after " + num(opt_.timeout_s) + " s" + what;
    return false;
  }
  if (pr < 0 || !ipc::recv_json(sock_, h)) {
    *fault = reap(false) + what;
    return false;
  }
  if (!hello_) {
    hello_ = true;
    load_error_ = h.value("load_error", "");
    load_fp_ = h.value("fp", "");
    if (h.contains("name")) {
      name_ = h.value("name", name_);
      describe_ = h.value("describe", describe_);
      avail_.runnable = h.value("runnable", true);
      avail_.reason = h.value("reason", "");
      kernels_ = h.value("kernels", std::vector<std::string>{});
    }
    if (!load_error_.empty()) describe_ = "broken plug-in " + spec_ + " (" + load_error_ + ")";
  }
  return true;
}

std::string IsolatedBackend::reap(bool killed) {
  int st = 0;
  rusage ru{};
  pid_t r;
  do r = wait4(pid_, &st, 0, &ru);
  while (r < 0 && errno == EINTR);
  end_group();
  if (sock_ >= 0) close(sock_), sock_ = -1;
  if (killed || r < 0) return "killed";
  const uint64_t peak = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  std::string how = WIFSIGNALED(st) ? signal_name(WTERMSIG(st))
                    : WIFEXITED(st) && WEXITSTATUS(st) == ipc::kLateWriteExit ? late_write_message()
                    : WIFEXITED(st) ? "exit(" + std::to_string(WEXITSTATUS(st)) + ")"
                                    : "an unknown end";
  // A death near the address-space limit is the limit (a NULL from malloc, then a fault).
  if (opt_.max_memory && peak >= opt_.max_memory / 4 * 3)
    return "out of memory (limit " + memory_size_str(opt_.max_memory) + "; the worker reached " +
           memory_size_str(peak / (1 << 20) * (1 << 20)) + " resident and ended with " + how + ")";
  return "crashed: " + how;
}

void IsolatedBackend::end_group() {
  kill(-pid_, SIGKILL);  // the worker's group: processes the backend started
  pid_ = -1;
}

void IsolatedBackend::stop_worker() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  reap(true);
}

bool IsolatedBackend::map_arena(size_t size) {
  if (size <= size_) return true;
  const size_t want = std::max(size, size_ * 2);
  if (ftruncate(memfd_, static_cast<off_t>(want + ipc::kStatusBytes)) != 0) return false;
  if (base_) munmap(base_, size_);
  void* p = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_, 0);
  if (p == MAP_FAILED) {
    base_ = nullptr, size_ = 0;
    return false;
  }
  base_ = static_cast<uint8_t*>(p);
  size_ = want;
  return true;
}

CallResult IsolatedBackend::call(const KernelDecl& decl, const Problem& p, const TensorMap& given,
                                 const TileConfig& tile, int threads, const std::string& case_id) {
  CallResult r;
  auto faulted = [&](const std::string& why) {
    r.fault = why.rfind("timeout", 0) == 0         ? Fault::timeout
              : why.rfind("out of memory", 0) == 0 ? Fault::out_of_memory
                                                   : Fault::crashed;
    r.fault_message = why;
    r.status = Status::Fail(why);
    return r;
  };
  if (pid_ <= 0) {
    std::string why;
    if (!spawn(&why)) return faulted(why);
  }
  if (!load_error_.empty()) {
    r.status = Status::Fail(load_error_);
    return r;
  }
  const ArenaLayout l = layout_call(decl, given);
  if (!map_arena(l.size)) throw Error("cannot grow the call arena to " + std::to_string(l.size) + " bytes");
  fill_arena(base_, l, given);
  nlohmann::json m = {{"op", "call"}, {"kernel", decl.id}, {"case", case_id}, {"dims", p.dims},
                      {"attrs", p.attrs}, {"knobs", tile.knobs}, {"threads", threads}, {"arena", size_}};
  nlohmann::json slots = nlohmann::json::array();
  for (const auto& s : l.slots)
    slots.push_back({{"name", s.name}, {"dtype", static_cast<int>(s.dtype)}, {"shape", s.shape}, {"offset", s.offset}});
  m["slots"] = std::move(slots);
  const auto t0 = std::chrono::steady_clock::now();
  if (!ipc::send_json(sock_, m)) return faulted(reap(false) + " before the call");
  pollfd pf{sock_, POLLIN, 0};
  int pr;
  double left;
  // In slices: SIGINT/SIGTERM reach the parent only (the worker has its own process group), maybe
  // on another thread, and must not wait for the timeout of a call that hangs.
  do {
    if (stop_requested()) {
      stop_worker();
      return faulted("interrupted by signal " + std::to_string(stop_signal()));
    }
    left = opt_.timeout_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    pr = left <= 0 ? 0 : poll(&pf, 1, static_cast<int>(std::ceil(std::min(left, 0.25) * 1000)));
  } while ((pr < 0 && errno == EINTR) || (pr == 0 && left > 0.25));
  if (pr == 0) {
    kill(pid_, SIGKILL);
    reap(true);
    return faulted("timeout after " + num(opt_.timeout_s) + " s");
  }
  nlohmann::json reply;
  if (!ipc::recv_json(sock_, reply)) {
    const std::string how = reap(false);
    return faulted(how.rfind("crashed: exit(", 0) == 0 ? how + " during the call" : how);
  }
  last_ = l;
  last_case_ = case_id;
  r.seconds = reply.value("seconds", 0.0);
  if (reply.value("oom", false)) {
    stop_worker();  // what it leaked stays with it
    return faulted("out of memory (limit " + memory_size_str(opt_.max_memory) + "): " + reply.value("message", ""));
  }
  r.status = reply.value("ok", false) ? Status::Ok() : Status::Fail(reply.value("message", ""));
  if (!load_fp_.empty())
    r.integrity.push_back(integrity_failure("fp_env", "FP environment unchanged",
                                            "loading the plug-in changed the FP environment: " + load_fp_ +
                                                " (restored before every call)"));
  if (const std::string fp = reply.value("fp", ""); !fp.empty())
    r.integrity.push_back(integrity_failure("fp_env", "FP environment unchanged",
                                            "the call changed the FP environment: " + fp + " (restored)"));
  for (auto& c : check_arena(base_, l, given)) r.integrity.push_back(std::move(c));
  r.tensors = arena_results(base_, l);
  return r;
}

std::string IsolatedBackend::late_write_message(std::string* tensor) const {
  uint64_t off = UINT64_MAX;
  if (pread(memfd_, &off, sizeof off, static_cast<off_t>(size_)) != static_cast<ssize_t>(sizeof off)) off = UINT64_MAX;
  std::string where = "the call arena";
  if (tensor) *tensor = "arena";
  for (const auto& s : last_.slots) {
    if (off >= s.offset && off < s.offset + s.nbytes) {
      where = std::string(s.role == Role::in ? "input" : s.role == Role::out ? "output" : "in-out tensor") + " '" +
              s.name + "' at byte " + std::to_string(off - s.offset) + " of " + std::to_string(s.nbytes);
    } else if (off < s.offset) {
      where = "the guard bytes before '" + s.name + "'";
    } else {
      continue;
    }
    if (tensor) *tensor = s.name;
    break;
  }
  return "the backend wrote to " + where + " after the call" +
         (last_case_.empty() ? std::string() : " of " + last_case_) +
         " had returned (its results were already taken): work still running after the return, such as a detached "
         "thread or an unsynchronized device copy";
}

std::vector<CheckResult> IsolatedBackend::late_writes() {
  if (pid_ <= 0) return {};
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) != pid_) return {};
  end_group();
  if (sock_ >= 0) close(sock_), sock_ = -1;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != ipc::kLateWriteExit) return {};  // the next call reports it
  std::string tensor;
  const std::string why = late_write_message(&tensor);
  return {integrity_failure("late_write." + tensor, "no write after the call returns", why)};
}

std::vector<CheckResult> late_writes(Backend& be) {
  IsolatedBackend* iso = as_isolated(be);
  return iso ? iso->late_writes() : std::vector<CheckResult>{};
}

Status IsolatedBackend::execute(const Invocation& inv) {
  CallResult r = call(*inv.decl, *inv.problem, *inv.tensors, inv.tile, inv.threads, "");
  if (r.fault != Fault::none) return r.status;
  for (auto& [name, t] : r.tensors) inv.tensors->at(name) = std::move(t);
  if (!r.integrity.empty()) return Status::Fail(r.integrity.front().name + ": " + r.integrity.front().message);
  return r.status;
}

CallResult guarded_call(Backend& be, const KernelDecl& decl, const Problem& p, const TensorMap& given,
                        const TileConfig& tile, int threads, const std::string& case_id) {
  if (IsolatedBackend* iso = as_isolated(be)) return iso->call(decl, p, given, tile, threads, case_id);
  CallResult r;
  const ArenaLayout l = layout_call(decl, given);
  uint8_t* base = local_arena(l.size);
  fill_arena(base, l, given);
  TensorMap views = arena_views(base, l);
  Invocation inv{&decl, &p, &views, tile, threads};
  const FpEnv before = FpEnv::save();
  const auto t0 = std::chrono::steady_clock::now();
  r.status = be.run(inv);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const FpEnv after = FpEnv::save();
  if (after != before) {
    r.integrity.push_back(integrity_failure("fp_env", "FP environment unchanged",
                                            "the call changed the FP environment: " +
                                                describe_fp_change(before, after) + " (restored)"));
    before.restore();
  }
  for (auto& c : check_arena(base, l, given)) r.integrity.push_back(std::move(c));
  r.tensors = arena_results(base, l);
  return r;
}

}  // namespace kcs
