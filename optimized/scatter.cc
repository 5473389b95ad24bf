// scatter adapter: token tiles (knob token_tile) and duplicate resolution for threads.
#include "optimized/scatter.h"

#include <algorithm>

#include "optimized/kernels.h"
#include "optimized/variants.h"

namespace kcs::opt {

std::vector<uint8_t> scatter_last_writers(const int64_t* index, int64_t T) {
  std::vector<uint8_t> win(static_cast<size_t>(std::max<int64_t>(T, 0)), 0);
  // Open addressing on the index value; the table keeps the last token seen for each row.
  size_t cap = 16;
  while (cap < 2 * static_cast<size_t>(std::max<int64_t>(T, 0))) cap <<= 1;
  std::vector<int64_t> key(cap, -1), tok(cap, -1);
  const size_t mask = cap - 1;
  for (int64_t i = 0; i < T; ++i) {
    const int64_t idx = index[i];
    if (idx < 0) continue;
    size_t h = static_cast<size_t>((static_cast<uint64_t>(idx) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    while (key[h] != -1 && key[h] != idx) h = (h + 1) & mask;
    key[h] = idx;
    tok[h] = i;
  }
  for (size_t h = 0; h < cap; ++h)
    if (key[h] != -1) win[static_cast<size_t>(tok[h])] = 1;
  return win;
}

void scatter_run(const ScatterCall& c, Isa isa, int threads, int64_t token_tile) {
  if (c.T <= 0) return;
  const int64_t tile = token_tile > 0 ? token_tile : c.T;
  const int64_t tiles = (c.T + tile - 1) / tile;
  auto fn = variant(kScatterVariants, isa).tokens;
  if (threads <= 1 || tiles <= 1) {
    for (int64_t t = 0; t < tiles; ++t) fn(c, t * tile, std::min(c.T, (t + 1) * tile));
    return;
  }
  // Concurrent tiles: two tokens naming one row would race, so only each row's last writer
  // copies (the sequential result, last token wins, by construction).
  const std::vector<uint8_t> win = scatter_last_writers(c.index, c.T);
  ScatterCall w = c;
  w.winner = win.data();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < tiles; ++t) fn(w, t * tile, std::min(c.T, (t + 1) * tile));
}

Status scatter(const Invocation& inv, Isa isa) {
  ScatterCall c;
  c.g = scatter_geom(*inv.problem);
  c.cache = static_cast<uint8_t*>(inv.out("cache").raw());
  c.src = static_cast<const uint8_t*>(inv.in("src").raw());
  c.index = inv.in("index").data<int64_t>();
  c.T = inv.in("index").numel();
  scatter_run(c, isa, inv.threads, inv.knob("token_tile"));
  return Status::Ok();
}

}  // namespace kcs::opt
