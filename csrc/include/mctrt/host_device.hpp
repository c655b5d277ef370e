// MCTRT_HOST_DEVICE marks small inline functions that both the C++ core and the CUDA kernels call,
// so that one definition holds each formula (a sampling grid, a decode, an IoU).
#pragma once

#if defined(__CUDACC__)
#define MCTRT_HOST_DEVICE __host__ __device__
#else
#define MCTRT_HOST_DEVICE
#endif
