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

template <Isa I>
Availability isa_available() {
  std::string missing = isa_missing(I);
  return {missing.empty(), missing};
}

// The best ISA this CPU runs, or AVX2's reason when none runs.
class BestBackend : public Backend {
 public:
  BestBackend() : avx512_(make_isa_backend(Isa::avx512)), avx2_(make_isa_backend(Isa::avx2)) {}
  std::string name() const override { return "optimized"; }
  std::string describe() const override { return "best optimized variant for this CPU (now: " + pick().name() + ")"; }
  Availability availability() const override { return pick().availability(); }
  bool supports(const std::string& k) const override { return pick().supports(k); }

 protected:
  Status execute(const Invocation& inv) override { return pick().run(inv); }

 private:
  Backend& pick() const { return avx512_->availability().runnable ? *avx512_ : *avx2_; }
  std::unique_ptr<Backend> avx512_, avx2_;
};

}  // namespace

std::unique_ptr<Backend> make_isa_backend(Isa isa) {
  if (isa == Isa::avx512)
    return std::make_unique<TableBackend>("avx512", "AVX-512 (F/BW/VL/DQ, VNNI, BF16) kernels",
                                          isa_table<Isa::avx512>(), &isa_available<Isa::avx512>);
  return std::make_unique<TableBackend>("avx2", "AVX2 + FMA + F16C kernels", isa_table<Isa::avx2>(),
                                        &isa_available<Isa::avx2>);
}

std::unique_ptr<Backend> make_best_optimized_backend() { return std::make_unique<BestBackend>(); }

}  // namespace kcs
