"""Between kcs's storage encoding and numpy / torch / DLPack arrays.

kcs stores BF16 and FP16 as uint16 bit patterns, E2M1 as packed nibble pairs (uint8, last
dimension K/2) and UE4M3 block scales as four bytes per int32. numpy gets float16 as np.float16
and BF16 as ml_dtypes.bfloat16 when ml_dtypes is installed, else as uint16 bit patterns; torch
gets torch.bfloat16 / torch.float16 tensors.
"""
import numpy as np

try:
    import ml_dtypes

    NUMPY_BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # BF16 stays as bit patterns
    NUMPY_BF16 = np.dtype(np.uint16)

STORAGE = {
    "bfloat16": np.uint16, "float16": np.uint16, "float32": np.float32, "float64": np.float64,
    "int8": np.int8, "uint8": np.uint8, "int32": np.int32, "int64": np.int64,
    "e2m1x2_lo_first": np.uint8, "ue4m3x4_le": np.int32,
}
# numpy dtypes an output of each kcs dtype may arrive as (same bits, same element size).
ACCEPT = {
    "bfloat16": {np.dtype(np.uint16), np.dtype(np.int16), NUMPY_BF16},
    "float16": {np.dtype(np.float16), np.dtype(np.uint16), np.dtype(np.int16)},
    "e2m1x2_lo_first": {np.dtype(np.uint8), np.dtype(np.int8)},
    "ue4m3x4_le": {np.dtype(np.int32), np.dtype(np.uint32)},
}


def numpy_view(storage, kcs_dtype):
    """The natural numpy type of a kcs storage array (float16, bfloat16 when ml_dtypes is there)."""
    if kcs_dtype == "float16":
        return storage.view(np.float16)
    if kcs_dtype == "bfloat16":
        return storage.view(NUMPY_BF16)
    return storage


def bf16_to_float32(a):
    """BF16 (bit patterns or ml_dtypes.bfloat16) to float32, exactly."""
    a = np.asarray(a)
    return (a.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


def float32_to_bf16_bits(a):
    """float32 to BF16 bit patterns, round to nearest even (NaN stays NaN)."""
    u = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(a, dtype=np.float32))
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), r)


def _torch():
    try:
        import torch

        return torch
    except ImportError:
        return None


def to_torch(storage, kcs_dtype, device=None):
    torch = _torch()
    if torch is None:
        raise ImportError("torch is not installed")
    a = np.ascontiguousarray(storage)
    if kcs_dtype in ("bfloat16", "float16"):  # torch has no uint16 before 2.3: through int16
        t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16 if kcs_dtype == "bfloat16" else torch.float16)
    else:
        t = torch.from_numpy(a)
    return t.to(device) if device is not None else t


def to_numpy(obj):
    """Any output a test hands in, as a numpy array on the host with the same bits.

    torch tensors on any device (BF16 through an int16 view, no rounding), objects with
    __dlpack__ (CuPy tensors through .get() when they live on a GPU), numpy arrays, lists.
    """
    torch = _torch()
    if torch is not None and isinstance(obj, torch.Tensor):
        t = obj.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if t.dtype in (torch.bfloat16, torch.float16):
            return t.view(torch.int16).numpy().view(np.uint16 if t.dtype == torch.bfloat16 else np.float16)
        if t.dtype in (getattr(torch, "float8_e4m3fn", None), getattr(torch, "float4_e2m1fn_x2", None)):
            return t.view(torch.uint8).numpy()
        return t.numpy()
    if isinstance(obj, np.ndarray):
        return obj
    if hasattr(obj, "__dlpack__"):
        try:
            return np.from_dlpack(obj)
        except (BufferError, RuntimeError, TypeError, ValueError):
            if hasattr(obj, "get"):  # CuPy: device to host
                return np.asarray(obj.get())
            raise
    return np.asarray(obj)


def as_storage(name, arr, kcs_dtype, shape):
    """`arr` reinterpreted as kcs's storage for `kcs_dtype`; raises naming the tensor when the
    element type cannot hold that dtype's bits (a float32 array for a BF16 output, say)."""
    want = np.dtype(STORAGE[kcs_dtype])
    got = arr.dtype
    if kcs_dtype == "ue4m3x4_le" and got in (np.dtype(np.uint8), np.dtype(np.int8)) and arr.ndim:
        # The scale bytes as uint8 [..., last*4]: viewed as int32 words, little-endian.
        arr = np.ascontiguousarray(arr).view(np.int32)
        got = arr.dtype
    ok = ACCEPT.get(kcs_dtype, {want})
    if got not in ok:
        raise TypeError("output '%s' is %s; the kernel declares %s (storage %s): convert it first%s" % (
            name, got, kcs_dtype, want,
            " (kcs.float32_to_bf16_bits or torch .to(torch.bfloat16))" if kcs_dtype == "bfloat16" else ""))
    arr = arr.view(want) if arr.ndim else arr.reshape(1).view(want).reshape(())
    if any(s % arr.itemsize for s in arr.strides):
        arr = np.ascontiguousarray(arr)
    return arr
