// Messages between the parent and its worker (conformance/runner/isolate.h): one JSON object per
// SOCK_SEQPACKET datagram, so message boundaries are the socket's.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kcs::ipc {

constexpr int kSocketFd = 3, kArenaFd = 4;  // the worker's fds
constexpr size_t kMaxMessage = 1 << 20;

// Between calls the worker keeps the arena read-only. A write to it then (a detached thread, an
// unsynchronized copy still running after the call returned) faults; the worker's handler stores
// the arena offset of the write in the 8 bytes just past the arena's mapped size (through the
// fd: the mapping is read-only) and exits with kLateWriteExit.
constexpr int kLateWriteExit = 87;
constexpr size_t kStatusBytes = 4096;  // the memfd's tail beyond the mapped arena

inline bool send_json(int fd, const nlohmann::json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

// false when the peer is gone (or sent something that is not JSON).
inline bool recv_json(int fd, nlohmann::json& out) {
  static thread_local std::vector<char> buf(kMaxMessage);
  const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n <= 0) return false;
  out = nlohmann::json::parse(buf.begin(), buf.begin() + n, nullptr, false);
  return !out.is_discarded();
}

}  // namespace kcs::ipc
