#include "conformance/runner/results_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/json_input.h"
#include "conformance/runner/results.h"

namespace kcs {

namespace fs = std::filesystem;

namespace {

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string compiler_name() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string key_of(const std::string& kernel, const std::string& case_id, const std::string& backend,
                   const std::string& tile, int threads) {
  ResultRun r;
  r.kernel = kernel;
  r.case_id = case_id;
  r.backend = backend;
  r.tile = tile;
  r.threads = threads;
  return run_key(r);
}

// What must agree for a file to be continued by another invocation.
std::string mismatch(const ResultsHeader& a, const ResultsHeader& b) {
  if (a.tier != b.tier) return "tier " + a.tier + " vs " + b.tier;
  if (a.shard_index != b.shard_index || a.shard_count != b.shard_count) return "shard";
  if (a.backends != b.backends) return "backends";
  if (a.planned != b.planned) return "planned cases";
  if (a.kcs_version != b.kcs_version) return "kcs version " + a.kcs_version + " vs " + b.kcs_version;
  if (a.spec_version != b.spec_version) return "spec version";
  if (a.machine != b.machine) return "machine";
  return {};
}

}  // namespace

ResultsHeader make_header(const std::string& tier, const std::string& command, int shard_index, int shard_count,
                          std::vector<std::string> backends, std::vector<std::string> planned) {
  ResultsHeader h;
  h.kcs_version = KCS_VERSION;
  h.spec_version = kSpecVersion;
  h.compiler = compiler_name();
  h.date = now_utc();
  h.tier = tier;
  h.command = command;
  h.machine = machine_json();
  h.shard_index = shard_index;
  h.shard_count = shard_count;
  h.backends = std::move(backends);
  h.planned = std::move(planned);
  return h;
}

ResultRun to_result_run(const RunRecord& r) {
  ResultRun o;
  o.kernel = r.kernel;
  o.case_id = r.case_id;
  o.backend = r.backend;
  o.tile = r.tile;
  o.threads = r.threads;
  o.verdict = verdict_name(r.verdict);
  o.reason = r.reason;
  o.repro = r.repro;
  o.seconds = r.seconds;
  o.checks = r.checks;
  o.full.assign(r.checks.size(), true);
  return o;
}

std::vector<bool> WorstTracker::mark(const ResultRun& r) {
  std::vector<bool> full(r.checks.size(), false);
  for (size_t i = 0; i < r.checks.size(); ++i) {
    const CheckResult& c = r.checks[i];
    full[i] = !c.passed;
    if (verdict_counted_apart(r.verdict)) continue;
    auto [it, fresh] = worst_.try_emplace(r.kernel + '\t' + r.backend + '\t' + c.name);
    if (fresh || check_worse(c, it->second)) {
      it->second.margin = c.margin;
      it->second.metrics.max_ulp = c.metrics.max_ulp;
      it->second.metrics.max_abs = c.metrics.max_abs;
      full[i] = true;
    }
  }
  return full;
}

// Runs of one case are contiguous in a sweep (stage records "<case>#<stage>" included), so only the
// current case's distinct check sets are remembered.
std::string RecordEncoder::compact_key(const ResultRun& r) const {
  return r.case_id + '\n' + checks_json(r, {}).dump();
}

std::string RecordEncoder::encode(const ResultRun& r) {
  const std::vector<bool> full = worst_.mark(r);
  const std::string group = r.case_id.substr(0, r.case_id.find('#'));
  if (group != group_) seen_.clear(), group_ = group;
  int64_t same_as = -1;
  bool any_full = false;
  for (bool f : full) any_full |= f;
  if (!r.checks.empty() && !any_full) {
    auto [it, fresh] = seen_.try_emplace(compact_key(r), next_);
    if (!fresh) same_as = it->second;
  }
  ++next_;
  return run_line(r, full, same_as).dump();
}

void RecordEncoder::replay(const ResultRun& r) {
  const std::vector<bool> full = worst_.mark(r);
  const std::string group = r.case_id.substr(0, r.case_id.find('#'));
  if (group != group_) seen_.clear(), group_ = group;
  bool any_full = false;
  for (bool f : full) any_full |= f;
  if (!r.checks.empty() && !any_full) seen_.try_emplace(compact_key(r), next_);
  ++next_;
}

ResultsWriter::ResultsWriter(const std::string& path, const ResultsHeader& header, bool resume) : path_(path) {
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  if (fs::is_directory(p, ec)) throw OutputError("results path " + path + " is a directory");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError("cannot write results file " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw OutputError("results file " + path + " is being written by another kcs run (it holds the lock)");
  }
  off_t keep = 0;
  if (resume) {
    const std::string text = read_text_file_bounded(path, JsonLimits{}.max_bytes);
    if (!text.empty()) {
      if (!is_results_lines(text)) {
        ::close(fd);
        throw OutputError("--resume: " + path + " is not a results file of this format (JSON Lines)");
      }
      Results old;
      try {
        old = parse_results_text(text, path);
      } catch (const Error& e) {
        ::close(fd);
        throw OutputError(std::string("--resume: ") + e.what());
      }
      const std::string diff = mismatch(old.header, header);
      if (!diff.empty()) {
        ::close(fd);
        throw OutputError("--resume: " + path + " was written by a different sweep (" + diff +
                          " differ); start it afresh without --resume");
      }
      // Keep every complete line except an end line: a cut last line and the end line go.
      keep = static_cast<off_t>(text.rfind('\n') + 1);
      if (old.header.complete) {
        const size_t end_start = text.rfind('\n', text.size() - 2);
        keep = static_cast<off_t>(end_start + 1);
      }
      for (const auto& r : old.runs) {
        done_.insert(run_key(r));
        encoder_.replay(r);
      }
      runs_ = resumed_ = old.runs.size();
    }
  }
  if (ftruncate(fd, keep) != 0 || lseek(fd, keep, SEEK_SET) < 0) {
    ::close(fd);
    throw OutputError("cannot write results file " + path + ": " + std::strerror(errno));
  }
  f_ = fdopen(fd, "w");
  if (!f_) {
    ::close(fd);
    throw OutputError("cannot write results file " + path);
  }
  if (keep == 0) write_line(header_line(header).dump());
}

ResultsWriter::~ResultsWriter() {
  if (f_) std::fclose(f_);  // closing releases the lock; an unfinished file stays resumable
}

void ResultsWriter::write_line(const std::string& line) {
  if (!f_) throw Error("results file " + path_ + " is already finished");
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fputc('\n', f_) == EOF ||
      std::fflush(f_) != 0)
    throw Error("error writing results file " + path_ + ": " + std::strerror(errno));
}

bool ResultsWriter::recorded(const std::string& kernel, const std::string& case_id, const std::string& backend,
                             const std::string& tile, int threads) const {
  return done_.count(key_of(kernel, case_id, backend, tile, threads)) != 0;
}

void ResultsWriter::append(const RunRecord& r) { append(to_result_run(r)); }

void ResultsWriter::append(const ResultRun& r) {
  write_line(encoder_.encode(r));
  done_.insert(run_key(r));
  ++runs_;
}

void ResultsWriter::finish() {
  write_line(nlohmann::json{{"end", {{"runs", runs_}}}}.dump());
  if (std::fclose(f_) != 0) {
    f_ = nullptr;
    throw Error("error closing results file " + path_ + ": " + std::strerror(errno));
  }
  f_ = nullptr;
}

void write_results_file(const std::string& path, const Results& results, bool complete) {
  std::string text = header_line(results.header).dump() + "\n";
  RecordEncoder encoder;
  for (const auto& r : results.runs) {
    if (!r.listed) continue;
    text += encoder.encode(r);
    text += '\n';
  }
  size_t n = 0;
  for (const auto& r : results.runs) n += r.listed;
  if (complete) text += nlohmann::json{{"end", {{"runs", n}}}}.dump() + "\n";
  write_text_file(path, text);
}

DirLock::DirLock(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw OutputError("cannot create output directory " + dir + ": " + ec.message());
  const std::string lock = dir + "/.kcs-run.lock";
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw OutputError("cannot write into output directory " + dir + ": " + std::strerror(errno));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw OutputError("output directory " + dir + " is in use by another kcs run (" + lock +
                      " is locked); use another --out");
  }
  check_writable(dir + "/summary.md");
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);
}

void check_writable(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path(), ec);
    if (ec) throw OutputError("cannot create directory " + p.parent_path().string() + ": " + ec.message());
  }
  if (fs::is_directory(p, ec)) throw OutputError(path + " is a directory, not a file");
  const std::string probe = temp_path_for(path);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError("cannot write " + path + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace kcs
