// The kcs CUDA plug-in: Q8, NVFP4 staging and the K5 compressor on an NVIDIA GPU, validated by kcs through the C ABI
// of include/kcs/plugin.h exactly as any outside backend is (`kcs run --backend-lib`).
//
// Each call copies every tensor to the device (outputs too: they arrive poisoned, so an element
// the kernel forgets to write stays poisoned and shows as a mismatch), launches, and copies the
// outputs back. Built twice: libkcs_cuda.so, and libkcs_cuda_broken_ties.so with
// KCS_CUDA_BROKEN_TIES, which codes E2M1 ties to even in the `away` mode: the suite must catch it.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cuda/kernels.cuh"
#include "kcs/plugin.h"

#ifndef KCS_CUDA_BROKEN_TIES
#define KCS_CUDA_BROKEN_TIES 0
#endif

namespace {

struct Fail {
  int32_t code;
  std::string msg;
};

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Fail{KCS_STATUS_INTERNAL, std::string(what) + ": " + cudaGetErrorString(e)};
}

size_t elem_size(int32_t dtype) {
  switch (dtype) {
    case KCS_DTYPE_BF16: case KCS_DTYPE_FP16: return 2;
    case KCS_DTYPE_FP32: case KCS_DTYPE_I32: case KCS_DTYPE_UE4M3X4: return 4;
    case KCS_DTYPE_FP64: case KCS_DTYPE_I64: return 8;
    default: return 1;
  }
}

size_t bytes_of(const kcs_tensor& t) {
  size_t n = elem_size(t.dtype);
  for (int32_t i = 0; i < t.rank; ++i) n *= static_cast<size_t>(t.shape[i]);
  return n;
}

// Device copies of a call's tensors, freed on scope exit.
class DeviceTensors {
 public:
  explicit DeviceTensors(const kcs_call* c) : call_(c), dev_(static_cast<size_t>(c->n_tensors), nullptr) {
    for (int32_t i = 0; i < c->n_tensors; ++i) {
      const kcs_tensor& t = c->tensors[i];
      // Version 1 passes dense row-major tensors; refuse views rather than read them wrongly.
      int64_t stride = 1;
      for (int32_t d = t.rank - 1; d >= 0; --d) {
        if (t.shape[d] > 1 && t.strides[d] != stride)
          throw Fail{KCS_STATUS_UNSUPPORTED, std::string("tensor ") + t.name + " is not dense row-major"};
        stride *= t.shape[d];
      }
      const size_t n = bytes_of(t);
      if (!n) continue;
      check(cudaMalloc(&dev_[static_cast<size_t>(i)], n), "cudaMalloc");
      check(cudaMemcpy(dev_[static_cast<size_t>(i)], t.data, n, cudaMemcpyHostToDevice), "copy to device");
    }
  }
  ~DeviceTensors() {
    for (void* p : dev_) cudaFree(p);
  }
  void* operator[](const char* name) const {
    for (int32_t i = 0; i < call_->n_tensors; ++i)
      if (std::strcmp(call_->tensors[i].name, name) == 0) return dev_[static_cast<size_t>(i)];
    throw Fail{KCS_STATUS_INVALID_ARGUMENT, std::string("no tensor ") + name};
  }
  void copy_back() const {
    check(cudaDeviceSynchronize(), "kernel");
    for (int32_t i = 0; i < call_->n_tensors; ++i) {
      const kcs_tensor& t = call_->tensors[i];
      if (t.role == KCS_ROLE_IN || !bytes_of(t)) continue;
      check(cudaMemcpy(t.data, dev_[static_cast<size_t>(i)], bytes_of(t), cudaMemcpyDeviceToHost), "copy to host");
    }
  }

 private:
  const kcs_call* call_;
  std::vector<void*> dev_;
};

const kcs_tensor& tensor(const kcs_call* c, const char* name) {
  const kcs_tensor* t = kcs_call_tensor(c, name);
  if (!t) throw Fail{KCS_STATUS_INVALID_ARGUMENT, std::string("no tensor ") + name};
  return *t;
}

int in_dtype(int32_t d) {
  if (d == KCS_DTYPE_BF16) return kcs_cuda::kBF16;
  if (d == KCS_DTYPE_FP16) return kcs_cuda::kFP16;
  if (d == KCS_DTYPE_FP32) return kcs_cuda::kFP32;
  throw Fail{KCS_STATUS_UNSUPPORTED, "input dtype not supported"};
}

void run_q8(const kcs_call* c) {
  const kcs_tensor& x = tensor(c, "x");
  kcs_cuda::Q8Args a{};
  a.rows = kcs_call_dim(c, "rows", 0);
  a.n = kcs_call_dim(c, "n", 0);
  if (a.rows == 0) return;
  a.x_dtype = in_dtype(x.dtype);
  a.rhaz = std::strcmp(kcs_call_attr(c, "round_mode", "rint"), "rhaz") == 0;
  a.floor = std::strcmp(kcs_call_attr(c, "amax_floor", "none"), "1e-4") == 0;
  a.scale_fp16 = tensor(c, "scale").dtype == KCS_DTYPE_FP16;
  DeviceTensors d(c);
  a.x = d["x"];
  a.codes = static_cast<int8_t*>(d["codes"]);
  a.scale = d["scale"];
  kcs_cuda::q8_launch(a);
  check(cudaGetLastError(), "q8 kernel launch");
  d.copy_back();
}

void run_nvfp4_stage(const kcs_call* c) {
  kcs_cuda::StageArgs a{};
  a.M = kcs_call_dim(c, "M", 0);
  a.K = kcs_call_dim(c, "K", 0);
  a.top_k = kcs_call_dim(c, "top_k", 0);
  if (a.M == 0) return;  // M == 0 writes nothing (docs/kernels/nvfp4_stage.md)
  if (a.K % 128) throw Fail{KCS_STATUS_INVALID_ARGUMENT, "K must be a multiple of 128"};
  a.x_dtype = in_dtype(tensor(c, "hidden_states").dtype);
  a.ties_even = std::strcmp(kcs_call_attr(c, "e2m1_ties", "away"), "even") == 0;
  a.saturate_scale = std::strcmp(kcs_call_attr(c, "saturate_scale", "0"), "1") == 0;
  a.broken_ties = KCS_CUDA_BROKEN_TIES != 0;
  a.ids_i64 = tensor(c, "topk_ids").dtype == KCS_DTYPE_I64;
  DeviceTensors d(c);
  a.x = d["hidden_states"];
  a.ids = d["topk_ids"];
  a.weights = static_cast<const float*>(d["topk_weights"]);
  a.x_fp4 = static_cast<uint8_t*>(d["x_fp4"]);
  a.x_sf = static_cast<uint8_t*>(d["x_sf"]);
  a.ids_out = static_cast<int64_t*>(d["topk_idx_out"]);
  a.weights_out = static_cast<float*>(d["topk_weights_out"]);
  kcs_cuda::nvfp4_stage_launch(a);
  check(cudaGetLastError(), "nvfp4_stage_kernel launch");
  d.copy_back();
}

void run_compressor(const kcs_call* c) {
  kcs_cuda::CompressorArgs a{};
  a.n_blocks = kcs_call_dim(c, "n_blocks", 0);
  if (a.n_blocks == 0) return;
  a.csa = std::strcmp(kcs_call_attr(c, "variant", "csa"), "csa") == 0;
  a.model = std::strcmp(kcs_call_attr(c, "epilogue", "model"), "model") == 0;
  a.external_prev = std::strcmp(kcs_call_attr(c, "has_external_prev", "false"), "true") == 0;
  a.proj_bf16 = tensor(c, "proj").dtype == KCS_DTYPE_BF16;
  a.table_bf16 = tensor(c, "cos_sin_cache").dtype == KCS_DTYPE_BF16;
  a.M = kcs_call_dim(c, "M", 0);
  a.ROPE = kcs_call_dim(c, "ROPE", 0);
  a.start_token = std::strtoll(kcs_call_attr(c, "start_token", "0"), nullptr, 10);
  a.start_abs_pos = std::strtoll(kcs_call_attr(c, "start_abs_pos", "0"), nullptr, 10);
  a.eps = std::strtod(kcs_call_attr(c, "eps", "1e-6"), nullptr);
  const int64_t C = kcs_call_dim(c, "C", 0), CI = kcs_call_dim(c, "C_I", 0), NOPE = kcs_call_dim(c, "NOPE", 0);
  if (C > kcs_cuda::kMaxCh || CI > kcs_cuda::kMaxCh)
    throw Fail{KCS_STATUS_UNSUPPORTED, "head dims above 512 columns are not implemented"};
  DeviceTensors d(c);
  a.table = d["cos_sin_cache"];
  a.head[0] = {d["proj"], a.external_prev ? d["prev_b"] : nullptr, static_cast<const float*>(d["ape"]),
               static_cast<const float*>(d["norm_w"]), nullptr, static_cast<uint16_t*>(d["kv_out"]), C, NOPE, true};
  a.n_heads = 1;
  if (a.csa) {
    a.head[1] = {d["proj_indexer"], a.external_prev ? d["prev_b_indexer"] : nullptr,
                 static_cast<const float*>(d["ape_indexer"]), static_cast<const float*>(d["norm_w_indexer"]),
                 a.model ? static_cast<const uint16_t*>(d["hadamard"]) : nullptr,
                 static_cast<uint16_t*>(d["indexer_out"]), CI, CI - a.ROPE, a.model};
    a.n_heads = 2;
  }
  kcs_cuda::compressor_launch(a);
  check(cudaGetLastError(), "compressor_kernel launch");
  d.copy_back();
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) uint32_t kcs_plugin_abi_version(void) { return KCS_PLUGIN_ABI_VERSION; }

__attribute__((visibility("default"))) const char* kcs_plugin_name(void) {
  return KCS_CUDA_BROKEN_TIES ? "cuda_broken_ties" : "cuda";
}

__attribute__((visibility("default"))) const char* kcs_plugin_describe(void) {
  static std::string d;
  if (d.empty()) {
    cudaDeviceProp p{};
    int dev = 0;
    if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&p, dev) == cudaSuccess)
      d = std::string("CUDA plug-in on ") + p.name + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ")";
    else
      d = "CUDA plug-in (no usable GPU)";
    if (KCS_CUDA_BROKEN_TIES) d += ", deliberately broken: E2M1 ties to even in the away mode";
  }
  return d.c_str();
}

__attribute__((visibility("default"))) const char* const* kcs_plugin_kernels(void) {
  static const char* const k[] = {"q8", "nvfp4_stage", "compressor", nullptr};
  return k;
}

__attribute__((visibility("default"))) int32_t kcs_plugin_run(const kcs_call* call, char* message,
                                                              size_t message_size) {
  try {
    if (!call || call->abi_version != KCS_PLUGIN_ABI_VERSION)
      throw Fail{KCS_STATUS_INVALID_ARGUMENT, "call from another ABI version"};
    if (std::strcmp(call->kernel, "q8") == 0)
      run_q8(call);
    else if (std::strcmp(call->kernel, "nvfp4_stage") == 0)
      run_nvfp4_stage(call);
    else if (std::strcmp(call->kernel, "compressor") == 0)
      run_compressor(call);
    else
      throw Fail{KCS_STATUS_UNSUPPORTED, std::string("kernel ") + call->kernel + " is not implemented"};
    return KCS_STATUS_OK;
  } catch (const Fail& f) {
    std::snprintf(message, message_size, "%s", f.msg.c_str());
    return f.code;
  }
}

}  // extern "C"
