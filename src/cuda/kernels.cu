// facenet-lab's own CUDA kernels (f32), the GPU side of the ops that have their own CPU
// kernels: batch norm in training (with the ReLU after it) and in evaluation (channel_affine),
// ReLU, Adam's update, the unrolling around the convolutions' cuBLAS products and the sum of
// their per-image kernel gradients (batch_sum), and max pooling. build.rs compiles this file to PTX
// when the `cuda` feature is on; src/cuda/mod.rs loads it. Each kernel follows its CPU
// counterpart's arithmetic: per-channel sums in double, element-wise work in float, with the
// same operations in the same order. The sums are not added in the CPU's order, though: a
// thread adds every 256th value of its channel to a double, then the block adds its threads'
// sums as a tree, where the CPU adds 16 lanes of floats per plane before it adds in double.
// They agree to rounding (bench --check), not to the bit.
//
// Maps are (batch, channels, pixels) in memory, pixels = h * w. Element-wise kernels take a
// grid-stride loop over `total` elements; per-channel reductions take one block per channel.
// Kernels that split an index into coordinates do it in 32-bit unsigned arithmetic, several
// times cheaper than 64-bit division: their callers refuse maps of 2^31 elements or more.

#define BLOCK 256

// The sum of `v` over the block, returned to every thread. `shared` holds BLOCK / 32 doubles.
__device__ double block_sum(double v, double *shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // every thread has read the last call's result from shared[0]
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < BLOCK / 32 ? shared[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  return shared[0];
}

// Visits the thread's elements of a block-wide loop, e = threadIdx.x, + BLOCK, ... < count, in
// that order: `load(e)` reads element e, `add(v)` takes what it read. Four loads go out before
// their adds: one at a time, each thread of a block that reduces a whole channel (the stem's 64
// channels of 401,408 values at batch 32, on 132 SMs) would wait out the memory's latency alone,
// and the compiler does not hoist a load past the loop's exit test. The adds keep their order.
template <class Load, class Add>
__device__ __forceinline__ void each_element(unsigned count, Load load, Add add) {
  unsigned e = threadIdx.x;
  for (; e + 3u * BLOCK < count; e += 4u * BLOCK) {
    const auto v0 = load(e), v1 = load(e + BLOCK), v2 = load(e + 2u * BLOCK),
               v3 = load(e + 3u * BLOCK);
    add(v0);
    add(v1);
    add(v2);
    add(v3);
  }
  for (; e < count; e += BLOCK) add(load(e));
}

// Where element `e` of channel `c`'s values (image-major) lies in the map.
__device__ __forceinline__ unsigned at(unsigned e, unsigned c, unsigned channels,
                                       unsigned pixels) {
  const unsigned b = e / pixels;
  return (b * channels + c) * pixels + (e - b * pixels);
}

__device__ __forceinline__ unsigned channel_of(unsigned i, unsigned channels, unsigned pixels) {
  return i / pixels % channels;
}

// The grid-stride loop of the kernels that index in 32 bits (total < 2^31, so i never wraps).
#define FOR_EACH_32(i, total)                                                  \
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned)(total); \
       i += gridDim.x * blockDim.x)

// Per channel (one block each): the mean, the biased variance and the scale
// a = gamma / sqrt(var + eps), `stats` = [mean; var; a] (3 * channels). Two passes, as on the
// CPU: the mean, then the squares about it.
extern "C" __global__ void __launch_bounds__(BLOCK)
bn_stats(const float *__restrict__ x, const float *__restrict__ gamma, float *__restrict__ stats,
         int batch, int channels, int pixels, float eps) {
  __shared__ double shared[BLOCK / 32];
  const int c = blockIdx.x;
  const unsigned count = (unsigned)batch * pixels;
  const auto value = [&](unsigned e) { return x[at(e, c, channels, pixels)]; };
  double sum = 0.0;
  each_element(count, value, [&](float v) { sum += v; });
  const double mean = block_sum(sum, shared) / (double)count;
  const float m = (float)mean;
  double sq = 0.0;
  each_element(count, value, [&](float v) {
    const float d = v - m;
    sq += d * d;
  });
  const double var = block_sum(sq, shared) / (double)count;
  if (threadIdx.x == 0) {
    stats[c] = m;
    stats[channels + c] = (float)var;
    stats[2 * channels + c] = (float)((double)gamma[c] / sqrt(var + (double)eps));
  }
}

// y = (x - mean) * a + beta with bn_stats' statistics, then max(y, 0) when `relu`.
extern "C" __global__ void bn_apply(const float *__restrict__ x, const float *__restrict__ stats,
                                    const float *__restrict__ beta, float *__restrict__ y,
                                    long long total, int channels, int pixels, int relu) {
  FOR_EACH_32(i, total) {
    const unsigned c = channel_of(i, channels, pixels);
    float v = (x[i] - stats[c]) * stats[2 * channels + c] + beta[c];
    if (relu && v < 0.f) v = 0.f;
    y[i] = v;
  }
}

// The backward's sums, per channel (one block each): dbeta = sum dy and
// dgamma = sum dy * (x - mean) / sqrt(var + eps), written at out[total + c] (dgamma) and
// out[total + channels + c] (dbeta), after dx; and the coefficients of dx for bn_grad_dx,
// coef = [k; m; q] (3 * channels): dx = k * dy + m * (x - mean) + q, k = a = gamma / sigma
// from bn_stats.
extern "C" __global__ void __launch_bounds__(BLOCK)
bn_grad_sums(const float *__restrict__ x, const float *__restrict__ dy,
             const float *__restrict__ stats, float *__restrict__ out, float *__restrict__ coef,
             int batch, int channels, int pixels, float eps) {
  __shared__ double shared[BLOCK / 32];
  const int c = blockIdx.x;
  const unsigned count = (unsigned)batch * pixels;
  const unsigned total = count * channels;
  const float mean = stats[c];
  const double inv_std = 1.0 / sqrt((double)stats[channels + c] + (double)eps);
  const float scale = (float)inv_std;
  double sd = 0.0, sdx = 0.0;
  struct Values {
    float dy, x;
  };
  each_element(
      count,
      [&](unsigned e) {
        const unsigned i = at(e, c, channels, pixels);
        return Values{dy[i], x[i]};
      },
      [&](Values v) {
        sd += v.dy;
        sdx += v.dy * (v.x - mean) * scale;
      });
  sd = block_sum(sd, shared);
  sdx = block_sum(sdx, shared);
  if (threadIdx.x == 0) {
    out[total + c] = (float)sdx;
    out[total + channels + c] = (float)sd;
    const double k = (double)stats[2 * channels + c];
    coef[c] = (float)k;
    coef[channels + c] = (float)(-k * inv_std * sdx / (double)count);
    coef[2 * channels + c] = (float)(-k * sd / (double)count);
  }
}

// dx = k * dy + m * (x - mean) + q, with bn_grad_sums' coefficients.
extern "C" __global__ void bn_grad_dx(const float *__restrict__ x, const float *__restrict__ dy,
                                      const float *__restrict__ stats,
                                      const float *__restrict__ coef, float *__restrict__ dx,
                                      long long total, int channels, int pixels) {
  FOR_EACH_32(i, total) {
    const unsigned c = channel_of(i, channels, pixels);
    dx[i] = coef[c] * dy[i] + coef[channels + c] * (x[i] - stats[c]) + coef[2 * channels + c];
  }
}

// Evaluation's batch norm, a fixed affine map per channel: y = x * a + b, then max(y, 0) when
// `relu` (src/model/cpu_batch_norm.rs's channel_affine).
extern "C" __global__ void channel_affine(const float *__restrict__ x, const float *__restrict__ a,
                                          const float *__restrict__ b, float *__restrict__ y,
                                          long long total, int channels, int pixels, int relu) {
  FOR_EACH_32(i, total) {
    const unsigned c = channel_of(i, channels, pixels);
    float v = x[i] * a[c] + b[c];
    if (relu && v < 0.f) v = 0.f;
    y[i] = v;
  }
}

// max(x, 0), NaN kept (torch's rule).
extern "C" __global__ void relu_fwd(const float *__restrict__ x, float *__restrict__ y,
                                    int total) {
  FOR_EACH_32(i, total) {
    const float v = x[i];
    y[i] = v < 0.f ? 0.f : v;
  }
}

// dy where the ReLU's output y is not <= 0 (a NaN passes, as in torch), else 0.
extern "C" __global__ void relu_bwd(const float *__restrict__ y, const float *__restrict__ dy,
                                    float *__restrict__ dx, int total) {
  FOR_EACH_32(i, total) {
    const float v = y[i];
    dx[i] = (v > 0.f || v != v) ? dy[i] : 0.f;
  }
}

// Adam's update of one tensor in place (torch's rule; the CPU's fused update, src/train/adam.rs,
// does the same float operations in the same order).
extern "C" __global__ void adam_step(float *__restrict__ p, const float *__restrict__ g,
                                     float *__restrict__ m, float *__restrict__ v, long long n,
                                     float b1, float b2, float one_m_b1, float one_m_b2,
                                     float eps, float inv_sqrt_bc2, float step, float wd,
                                     int decay) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const float pi = p[i];
    float gi = g[i];
    if (decay) gi += pi * wd;
    const float mi = m[i] * b1 + gi * one_m_b1;
    const float vi = v[i] * b2 + (gi * gi) * one_m_b2;
    const float denom = sqrtf(vi) * inv_sqrt_bc2 + eps;
    p[i] = pi - (mi / denom) * step;
    m[i] = mi;
    v[i] = vi;
  }
}

// Convolution (src/model/cuda_conv.rs). Sizes: batch, c_in, h, w, k (square kernel), stride,
// pad, oh, ow; col is (batch, c_in * k * k, oh * ow), row (ci, ky, kx) holding the input pixel
// under kernel tap (ky, kx) for every output pixel, zero where that falls in the padding.
extern "C" __global__ void im2col(const float *__restrict__ x, float *__restrict__ col, int batch,
                                  int c_in, int h, int w, int k, int stride, int pad, int oh,
                                  int ow) {
  const unsigned total = (unsigned)batch * c_in * k * k * oh * ow;
  FOR_EACH_32(i, total) {
    unsigned t = i;
    const int ox = (int)(t % ow);
    t /= ow;
    const int oy = (int)(t % oh);
    t /= oh;
    const int kx = (int)(t % k);
    t /= k;
    const int ky = (int)(t % k);
    t /= k;  // t = n * c_in + ci: the input plane
    const int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
    col[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(t * h + iy) * w + ix] : 0.f;
  }
}

// The adjoint of im2col: each input pixel the sum of the col entries read from it.
extern "C" __global__ void col2im(const float *__restrict__ col, float *__restrict__ x, int batch,
                                  int c_in, int h, int w, int k, int stride, int pad, int oh,
                                  int ow) {
  const unsigned total = (unsigned)batch * c_in * h * w;
  const unsigned pixels = (unsigned)oh * ow;
  FOR_EACH_32(i, total) {
    const unsigned row = i / w;  // (n * c_in + ci) * h + iy
    const int ix = (int)(i - row * w);
    const unsigned plane = row / h;  // n * c_in + ci
    const int iy = (int)(row - plane * h);
    const float *rows = col + plane * k * k * pixels;  // row (ci, 0, 0) of image n
    float sum = 0.f;
    for (int ky = 0; ky < k; ++ky) {
      const int ty = iy + pad - ky;
      if (ty < 0 || ty % stride != 0 || ty / stride >= oh) continue;
      for (int kx = 0; kx < k; ++kx) {
        const int tx = ix + pad - kx;
        if (tx < 0 || tx % stride != 0 || tx / stride >= ow) continue;
        sum += rows[(ky * k + kx) * pixels + (ty / stride) * ow + tx / stride];
      }
    }
    x[i] = sum;
  }
}

// dst[i] = sum over the batch of src[b * len + i]: the kernel gradient's per-image parts.
extern "C" __global__ void batch_sum(const float *__restrict__ src, float *__restrict__ dst,
                                     int batch, long long len) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < len;
       i += (long long)gridDim.x * blockDim.x) {
    float sum = 0.f;
    for (int b = 0; b < batch; ++b) sum += src[b * len + i];
    dst[i] = sum;
  }
}

// Max pooling (src/model/cpu_pool.rs's rule): a square window of k, stride and -inf padding;
// its winner is the first maximum in row-major order, or the first NaN where it holds one.
// Sizes: batch, channels, h, w, k, stride, pad, oh, ow.
__device__ int pool_winner(const float *plane, int h, int w, int k, int stride, int pad, int oy,
                           int ox) {
  const int y0 = oy * stride - pad, x0 = ox * stride - pad;
  const int ys = max(y0, 0), ye = min(y0 + k, h), xs = max(x0, 0), xe = min(x0 + k, w);
  int best = ys * w + xs;
  for (int y = ys; y < ye; ++y) {
    for (int x = xs; x < xe; ++x) {
      const int i = y * w + x;
      const float v = plane[i], b = plane[best];
      if (v > b || (v != v && b == b)) best = i;
    }
  }
  return best;
}

extern "C" __global__ void max_pool_fwd(const float *__restrict__ x, float *__restrict__ y,
                                        int batch, int channels, int h, int w, int k, int stride,
                                        int pad, int oh, int ow) {
  const unsigned total = (unsigned)batch * channels * oh * ow;
  FOR_EACH_32(i, total) {
    const unsigned row = i / ow, plane_index = row / oh;
    const int ox = (int)(i - row * ow), oy = (int)(row - plane_index * oh);
    const float *plane = x + plane_index * h * w;
    y[i] = plane[pool_winner(plane, h, w, k, stride, pad, oy, ox)];
  }
}

// dx: each input element the sum of the gradients of the windows it wins, in the CPU's order.
extern "C" __global__ void max_pool_bwd(const float *__restrict__ x, const float *__restrict__ dy,
                                        float *__restrict__ dx, int batch, int channels, int h,
                                        int w, int k, int stride, int pad, int oh, int ow) {
  const unsigned total = (unsigned)batch * channels * h * w;
  FOR_EACH_32(i, total) {
    const unsigned row = i / w, p = row / h;
    const int ix = (int)(i - row * w), iy = (int)(row - p * h);
    const float *plane = x + p * h * w;
    const float *up = dy + p * oh * ow;
    // Windows oy cover iy when oy * stride - pad <= iy < oy * stride - pad + k.
    const int oy0 = max(0, (iy + pad - k + stride) / stride), oy1 = min(oh - 1, (iy + pad) / stride);
    const int ox0 = max(0, (ix + pad - k + stride) / stride), ox1 = min(ow - 1, (ix + pad) / stride);
    float sum = 0.f;
    for (int oy = oy0; oy <= oy1; ++oy) {
      for (int ox = ox0; ox <= ox1; ++ox) {
        if (pool_winner(plane, h, w, k, stride, pad, oy, ox) == iy * w + ix) sum += up[oy * ow + ox];
      }
    }
    dx[i] = sum;
  }
}
