// Just enough of CUDA to run src/cuda/kernels.cu on the CPU: the blocks of a launch run one
// after another, each block's threads as std::threads; __shared__ arrays are static (one
// block at a time uses them), __syncthreads() is a barrier of the block's threads, and a warp
// shuffle goes through a per-warp buffer between two barriers of the warp's 32 threads. What
// this checks is the kernels' indexing and their reductions; the compiled PTX is checked on a
// GPU by `facenet-lab bench --check`.
#include <algorithm>
#include <barrier>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

using std::max;
using std::min;
using std::sqrt;

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
thread_local dim3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(threads)
#define __shared__ static

namespace emulation {
std::barrier<> *block;
std::vector<std::unique_ptr<std::barrier<>>> warps;
double lanes[32][32];  // [warp][lane], up to 1024 threads a block
}  // namespace emulation

inline void __syncthreads() { emulation::block->arrive_and_wait(); }

template <class T>
T __shfl_down_sync(unsigned, T v, int offset) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  emulation::lanes[warp][lane] = (double)v;
  emulation::warps[warp]->arrive_and_wait();
  const T r = lane + offset < 32 ? (T)emulation::lanes[warp][lane + offset] : v;
  emulation::warps[warp]->arrive_and_wait();
  return r;
}

// kernel<<<grid, threads>>>, `threads` a multiple of 32.
template <class F>
void launch(unsigned grid, unsigned threads, F kernel) {
  gridDim.x = grid;
  blockDim.x = threads;
  for (unsigned b = 0; b < grid; ++b) {
    std::barrier<> block(threads);
    emulation::block = &block;
    emulation::warps.clear();
    for (unsigned w = 0; w < threads / 32; ++w)
      emulation::warps.emplace_back(std::make_unique<std::barrier<>>(32));
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < threads; ++t)
      ts.emplace_back([=] {
        blockIdx.x = b;
        threadIdx.x = t;
        kernel();
      });
    for (auto &t : ts) t.join();
  }
}
