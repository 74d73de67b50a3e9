// Highway's target policy for engine/quant. Every file here that includes a Highway
// header includes this first (between clang-format off/on, so that include sorting
// cannot move it), so all of them compile and dispatch the same target set: on x86
// SSE4, AVX2, AVX3 (AVX-512 F/VL/DQ/BW), AVX3_DL (plus VNNI) and the portable EMU128; on Arm NEON
// and EMU128. SSSE3 adds nothing over SSE4 for these kernels and would cost build time; SVE and RVV
// are left out because the kernels keep whole vectors in arrays (sizeless vector types
// cannot be), so those CPUs run NEON or EMU128.
#pragma once

#ifdef HWY_TARGETS
#error "quant/hwy_config.h must come before any Highway header"
#endif

// Highway falls back to its one-lane HWY_SCALAR target instead of EMU128 on GCC < 12.3
// because of GCC bug 106322, which miscompiled EMU128 on armel, i386, mips and powerpc
// (google/highway#956). x86-64 and AArch64 were not affected, and the kernels need at
// least 16-byte vectors, so keep EMU128 there; the tests run every kernel on it.
#if !defined(HWY_BROKEN_EMU128) && (defined(__x86_64__) || defined(__aarch64__))
#define HWY_BROKEN_EMU128 0
#endif

// AVX3_DL (AVX-512 with VNNI, VBMI, ...: Ice Lake, Zen 4 and later) is opt-in in Highway
// 1.0: the multi-token matmul (simd_gemm_*.cpp) uses its vpdpbusd there.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL 1
#endif

#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128 | HWY_RVV)
