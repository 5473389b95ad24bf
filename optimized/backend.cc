#include "kcs/backend.h"
#include "optimized/kernels.h"

namespace kcs {

namespace {

template <Isa I>
std::map<std::string, KernelFn> isa_table() {
  return {
#define KCS_KERNEL(id) {#id, [](const Invocation& inv) { return opt::id(inv, I); }},
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL
  };
}

// Kernels whose plans pack their weights; the others get the default plan (kcs/backend.h).
template <Isa I>
std::map<std::string, PrepareFn> isa_plans() {
  return {
      {"mla_prolog", [](Backend& b, const Invocation& inv) { return opt::mla_prolog_prepare(b, inv, I); }},
      {"indexer_prolog", [](Backend& b, const Invocation& inv) { return opt::indexer_prolog_prepare(b, inv, I); }},
  };
}

// Once per process: the CPU does not change, and Backend::run asks on every call.
template <Isa I>
Availability isa_available() {
  static const Availability a = [] {
    std::string missing = isa_missing(I);
    return Availability{missing.empty(), missing};
  }();
  return a;
}

// The best ISA this CPU runs (amx > avx512 > avx2), or AVX2's reason when none runs.
class BestBackend : public Backend {
 public:
  BestBackend()
      : amx_(make_isa_backend(Isa::amx)), avx512_(make_isa_backend(Isa::avx512)), avx2_(make_isa_backend(Isa::avx2)) {}
  std::string name() const override { return "optimized"; }
  std::string describe() const override { return "best optimized variant for this CPU (now: " + pick().name() + ")"; }
  Availability availability() const override { return pick().availability(); }
  bool supports(const std::string& k) const override { return pick().supports(k); }

 protected:
  Status execute(const Invocation& inv) override { return pick().run(inv); }
  std::unique_ptr<Plan> make_plan(const Invocation& inv) override {
    std::unique_ptr<Plan> plan;
    if (Status s = pick().prepare(inv, &plan); !s) throw Error(s.message);
    return plan;
  }

 private:
  Backend& pick() const {
    if (amx_->availability().runnable) return *amx_;
    return avx512_->availability().runnable ? *avx512_ : *avx2_;
  }
  std::unique_ptr<Backend> amx_, avx512_, avx2_;
};

}  // namespace

std::unique_ptr<Backend> make_isa_backend(Isa isa) {
  if (isa == Isa::amx)
    return std::make_unique<TableBackend>("amx", "AVX-512 kernels with AMX tile (INT8/BF16) rows where a kernel has them",
                                          isa_table<Isa::amx>(), &isa_available<Isa::amx>, isa_plans<Isa::amx>());
  if (isa == Isa::avx512)
    return std::make_unique<TableBackend>("avx512", "AVX-512 (F/BW/VL/DQ, VNNI, BF16) kernels",
                                          isa_table<Isa::avx512>(), &isa_available<Isa::avx512>,
                                          isa_plans<Isa::avx512>());
  return std::make_unique<TableBackend>("avx2", "AVX2 + FMA + F16C kernels", isa_table<Isa::avx2>(),
                                        &isa_available<Isa::avx2>, isa_plans<Isa::avx2>());
}

std::unique_ptr<Backend> make_best_optimized_backend() { return std::make_unique<BestBackend>(); }

}  // namespace kcs
