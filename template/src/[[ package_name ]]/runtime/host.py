"""What this machine's CPU can run: its model name and the instruction-set level of its int8 kernels.

ONNX Runtime's CPU kernels (MLAS) pick their int8 code path at run time from CPUID: AMX, AVX-512
VNNI, AVX-VNNI, AVX-512, AVX2 on x86-64; dot-product (SDOT/UDOT) or plain NEON on ARM64. U8S8
arithmetic without VNNI can saturate (ONNX Runtime docs, "Quantize ONNX models", FAQ), so the
level is logged next to every self-test and recorded next to every benchmark.

The features come from numpy's own run-time CPUID detection (`__cpu_features__`), which reports
what the *emulated* CPU offers under `qemu-x86_64 -cpu Haswell` too; /proc/cpuinfo is read only
for the CPU's marketing name and for the AMX / AVX-VNNI flags numpy does not list.
"""

import functools
import importlib.util
import platform
from pathlib import Path

try:  # numpy >= 2
    from numpy._core._multiarray_umath import __cpu_features__ as _NUMPY_FEATURES
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core._multiarray_umath import __cpu_features__ as _NUMPY_FEATURES


def _cpuinfo() -> dict[str, str]:
    path = Path("/proc/cpuinfo")
    fields: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_features() -> set[str]:
    """Upper-case feature names this CPU reports (numpy's CPUID detection), e.g. {'AVX2', 'FMA3'}."""
    features = {name for name, present in _NUMPY_FEATURES.items() if present}
    flags = set(_cpuinfo().get("flags", "").split())
    # /proc/cpuinfo describes the physical CPU, CPUID the one this process runs on: under
    # `qemu-x86_64 -cpu Haswell` they differ. So the flags numpy does not list (AMX, AVX-VNNI) are
    # taken from /proc/cpuinfo only when it agrees with CPUID on the features both report.
    shared = {"avx2": "AVX2", "avx512f": "AVX512F", "fma": "FMA3"}
    agrees = all((flag in flags) == (name in features) for flag, name in shared.items())
    if agrees and "AVX2" in features:
        features |= {name.upper() for name in ("amx_int8", "avx_vnni") if name in flags}
    return features


@functools.cache
def instruction_set() -> str:
    """The best int8 instruction-set level available, as ONNX Runtime's kernels would pick it.

    Returns one of: 'amx', 'avx512-vnni', 'avx-vnni', 'avx512', 'avx2', 'sse4.1', 'arm64-dotprod',
    'arm64', or the machine name when none applies.
    """
    machine = platform.machine().lower()
    features = cpu_features()
    if machine in ("aarch64", "arm64"):
        return "arm64-dotprod" if "ASIMDDP" in features else "arm64"
    for level, needed in (
        ("amx", "AMX_INT8"),
        ("avx512-vnni", "AVX512VNNI"),
        ("avx-vnni", "AVX_VNNI"),
        ("avx512", "AVX512BW"),
        ("avx2", "AVX2"),
        ("sse4.1", "SSE41"),
    ):
        if needed in features:
            return level
    return machine or "unknown"


def has_vnni() -> bool:
    """True where int8 dot products accumulate in 32 bits without the U8S8 16-bit saturation."""
    level = instruction_set()
    return level in ("amx", "avx512-vnni", "avx-vnni") or level.startswith("arm64")


@functools.cache
def cpu_model() -> str:
    """The CPU's name, e.g. 'AMD EPYC' (x86 /proc/cpuinfo), or the platform's description."""
    info = _cpuinfo()
    return info.get("model name") or info.get("Model") or platform.processor() or platform.machine()


def describe() -> dict[str, str]:
    """{'cpu': ..., 'instruction_set': ..., 'machine': ...}: recorded with benchmarks and self-tests."""
    return {"cpu": cpu_model(), "instruction_set": instruction_set(), "machine": platform.machine()}


def tensorrt_unavailable_reason() -> str | None:
    """Why TensorRT engines cannot be built or run here ("no TensorRT", "no CUDA GPU"), or None.

    torch is imported only to ask for a GPU, and only when TensorRT is installed."""
    if importlib.util.find_spec("tensorrt") is None:
        return "no TensorRT"
    try:
        import torch

        if not torch.cuda.is_available():
            return "no CUDA GPU"
    except ImportError:
        return "no CUDA GPU"
    return None
