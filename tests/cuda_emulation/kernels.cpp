// src/cuda/kernels.cu under shim.h's emulation, each kernel against its definition written as
// plain loops in double (tests/cuda_kernels.rs compiles and runs this). Prints one line per
// output and "N failed" last; exits non-zero if any output is off.
#include "shim.h"
#include "kernels.cu"

#include <cstdio>
#include <random>
#include <string>

using Floats = std::vector<float>;
using Doubles = std::vector<double>;

std::mt19937 rng(20261130);
int failed = 0;

Floats random(size_t n) {
  std::normal_distribution<float> d;
  Floats v(n);
  for (auto &x : v) x = d(rng);
  return v;
}

// ‖got − want‖ / ‖want‖ against `tol` (0: exact).
void compare(const std::string &what, const Floats &got, const Doubles &want, double tol = 1e-5) {
  if (got.size() != want.size()) {
    failed += 1;
    printf("%-48s %zu values, %zu wanted FAILED\n", what.c_str(), got.size(), want.size());
    return;
  }
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  const double err = den > 0 ? sqrt(num / den) : sqrt(num);
  const bool ok = err <= tol;
  failed += !ok;
  printf("%-48s %.1e %s\n", what.c_str(), err, ok ? "ok" : "FAILED");
}

std::string shape(std::initializer_list<int> dims) {
  std::string s = "(";
  for (int d : dims) s += std::to_string(d) + ",";
  s.back() = ')';
  return s;
}

// Training batch norm: bn_stats + bn_apply forward, relu_bwd (when fused) + bn_grad_sums +
// bn_grad_dx backward.
void batch_norm(int B, int C, int H, int W, bool relu) {
  const int P = H * W;
  const long long N = (long long)B * C * P;
  const double count = (double)B * P;
  const float eps = 1e-5f;
  const Floats x = random(N), gamma = random(C), beta = random(C), up = random(N);
  Floats stats(3 * C), y(N), masked(N), out(N + 2 * C), coef(3 * C);
  launch(C, BLOCK, [&] { bn_stats(x.data(), gamma.data(), stats.data(), B, C, P, eps); });
  launch(3, 64, [&] { bn_apply(x.data(), stats.data(), beta.data(), y.data(), N, C, P, relu); });
  if (relu)
    launch(2, 128, [&] { relu_bwd(y.data(), up.data(), masked.data(), N); });
  else
    masked = up;
  launch(C, BLOCK, [&] {
    bn_grad_sums(x.data(), masked.data(), stats.data(), out.data(), coef.data(), B, C, P, eps);
  });
  launch(5, 32, [&] {
    bn_grad_dx(x.data(), masked.data(), stats.data(), coef.data(), out.data(), N, C, P);
  });

  Doubles want_stats(3 * C), want_y(N), want_out(N + 2 * C);
  auto at = [&](int b, int c, int p) { return ((long long)b * C + c) * P + p; };
  for (int c = 0; c < C; ++c) {
    double sum = 0, sq = 0;
    for (int b = 0; b < B; ++b)
      for (int p = 0; p < P; ++p) sum += x[at(b, c, p)];
    const double mean = sum / count;
    for (int b = 0; b < B; ++b)
      for (int p = 0; p < P; ++p) sq += (x[at(b, c, p)] - mean) * (x[at(b, c, p)] - mean);
    const double var = sq / count, inv_std = 1 / sqrt(var + eps);
    want_stats[c] = mean;
    want_stats[C + c] = var;
    want_stats[2 * C + c] = gamma[c] * inv_std;
    double sd = 0, sdx = 0;
    for (int b = 0; b < B; ++b)
      for (int p = 0; p < P; ++p) {
        const long long i = at(b, c, p);
        const double v = (x[i] - mean) * inv_std * gamma[c] + beta[c];
        want_y[i] = relu && v < 0 ? 0 : v;
        const double d = relu && v <= 0 ? 0 : up[i];
        sd += d;
        sdx += d * (x[i] - mean) * inv_std;
      }
    for (int b = 0; b < B; ++b)
      for (int p = 0; p < P; ++p) {
        const long long i = at(b, c, p);
        const double d = relu && want_y[i] <= 0 ? 0 : up[i];
        const double xhat = (x[i] - mean) * inv_std;
        want_out[i] = gamma[c] * inv_std * (d - sd / count - xhat * sdx / count);
      }
    want_out[N + c] = sdx;
    want_out[N + C + c] = sd;
  }
  const std::string name = "batch norm" + std::string(relu ? " + ReLU " : " ") + shape({B, C, H, W});
  compare(name + ": mean, var, scale", stats, want_stats);
  compare(name + ": y", y, want_y);
  compare(name + ": dx, dgamma, dbeta", out, want_out);
}

// Evaluation's batch norm: a fixed affine map per channel, with or without the ReLU.
void channel_affine(int B, int C, int H, int W, bool relu) {
  const int P = H * W;
  const long long N = (long long)B * C * P;
  const Floats x = random(N), a = random(C), b = random(C);
  Floats y(N);
  launch(3, 64, [&] { ::channel_affine(x.data(), a.data(), b.data(), y.data(), N, C, P, relu); });
  Doubles want(N);
  for (long long i = 0; i < N; ++i) {
    const int c = (int)(i / P % C);
    const float v = x[i] * a[c] + b[c];
    want[i] = relu && v < 0 ? 0 : v;
  }
  compare("channel affine" + std::string(relu ? " + ReLU " : " ") + shape({B, C, H, W}), y, want, 0);
}

// im2col against its definition; col2im as its adjoint, summed by scattering.
void unroll(int B, int Ci, int H, int W, int K, int S, int Pd) {
  const int OH = (H + 2 * Pd - K) / S + 1, OW = (W + 2 * Pd - K) / S + 1;
  const long long nx = (long long)B * Ci * H * W, ncol = (long long)B * Ci * K * K * OH * OW;
  const Floats x = random(nx), dcol = random(ncol);
  Floats col(ncol), dx(nx);
  launch(4, 64, [&] { im2col(x.data(), col.data(), B, Ci, H, W, K, S, Pd, OH, OW); });
  launch(4, 64, [&] { col2im(dcol.data(), dx.data(), B, Ci, H, W, K, S, Pd, OH, OW); });
  Doubles want_col(ncol), want_dx(nx, 0.0);
  long long i = 0;
  for (int n = 0; n < B; ++n)
    for (int ci = 0; ci < Ci; ++ci)
      for (int ky = 0; ky < K; ++ky)
        for (int kx = 0; kx < K; ++kx)
          for (int oy = 0; oy < OH; ++oy)
            for (int ox = 0; ox < OW; ++ox, ++i) {
              const int iy = oy * S + ky - Pd, ix = ox * S + kx - Pd;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const long long j = (((long long)n * Ci + ci) * H + iy) * W + ix;
              want_col[i] = x[j];
              want_dx[j] += dcol[i];
            }
  const std::string name = shape({B, Ci, H, W}) + " k" + std::to_string(K) + " s" +
                           std::to_string(S) + " p" + std::to_string(Pd);
  compare("im2col " + name, col, want_col, 0);
  compare("col2im " + name, dx, want_dx);
}

// Max pooling with ties: the first maximum in row-major order wins.
void max_pool(int B, int C, int H, int W, int K, int S, int Pd) {
  const int OH = (H + 2 * Pd - K) / S + 1, OW = (W + 2 * Pd - K) / S + 1;
  const long long nx = (long long)B * C * H * W, ny = (long long)B * C * OH * OW;
  Floats x = random(nx);
  for (auto &v : x) v = std::round(v * 3);
  const Floats up = random(ny);
  Floats y(ny), dx(nx);
  launch(3, 64, [&] { max_pool_fwd(x.data(), y.data(), B, C, H, W, K, S, Pd, OH, OW); });
  launch(3, 64, [&] { max_pool_bwd(x.data(), up.data(), dx.data(), B, C, H, W, K, S, Pd, OH, OW); });
  Doubles want_y(ny), want_dx(nx, 0.0);
  for (long long p = 0; p < (long long)B * C; ++p)
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox) {
        long long best = -1;
        for (int iy = max(0, oy * S - Pd); iy < min(H, oy * S - Pd + K); ++iy)
          for (int ix = max(0, ox * S - Pd); ix < min(W, ox * S - Pd + K); ++ix) {
            const long long i = (p * H + iy) * W + ix;
            if (best < 0 || x[i] > x[best]) best = i;
          }
        const long long o = (p * OH + oy) * OW + ox;
        want_y[o] = x[best];
        want_dx[best] += up[o];
      }
  const std::string name = "max pool " + shape({B, C, H, W}) + " k" + std::to_string(K) + " s" +
                           std::to_string(S) + " p" + std::to_string(Pd);
  compare(name + ": y", y, want_y, 0);
  compare(name + ": dx", dx, want_dx);
}

void relu(int n) {
  Floats x = random(n);
  for (int i = 0; i < n; i += 7) x[i] = 0;  // an input of exactly 0 passes no gradient
  const Floats up = random(n);
  Floats y(n), dx(n);
  launch(2, 64, [&] { relu_fwd(x.data(), y.data(), n); });
  launch(2, 64, [&] { relu_bwd(y.data(), up.data(), dx.data(), n); });
  Doubles want_y(n), want_dx(n);
  for (int i = 0; i < n; ++i) {
    want_y[i] = x[i] < 0 ? 0 : x[i];
    want_dx[i] = x[i] > 0 ? up[i] : 0;
  }
  compare("relu " + shape({n}) + ": y", y, want_y, 0);
  compare("relu " + shape({n}) + ": dx", dx, want_dx, 0);
}

// torch's Adam with weight decay, one step at step 2, in the same float operations.
void adam(int n) {
  Floats p = random(n), m = random(n), v = random(n);
  const Floats g = random(n);
  for (auto &q : v) q *= q;
  const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f;
  const float inv_sqrt_bc2 = 1 / sqrtf(1 - b2 * b2), step = 1e-3f / (1 - b1 * b1);
  Doubles want_p(n), want_m(n), want_v(n);
  for (int i = 0; i < n; ++i) {
    const float gi = g[i] + p[i] * wd;
    const float mi = m[i] * b1 + gi * (1 - b1), vi = v[i] * b2 + gi * gi * (1 - b2);
    want_p[i] = p[i] - mi / (sqrtf(vi) * inv_sqrt_bc2 + eps) * step;
    want_m[i] = mi;
    want_v[i] = vi;
  }
  launch(1, 128, [&] {
    adam_step(p.data(), g.data(), m.data(), v.data(), n, b1, b2, 1 - b1, 1 - b2, eps,
              inv_sqrt_bc2, step, wd, 1);
  });
  compare("adam " + shape({n}) + ": weights", p, want_p);
  compare("adam " + shape({n}) + ": moments", m, want_m);
  compare("adam " + shape({n}) + ": squared moments", v, want_v);
}

void sum_over_batch(int batch, int len) {
  const Floats src = random((size_t)batch * len);
  Floats dst(len);
  Doubles want(len, 0.0);
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < len; ++i) want[i] += src[(size_t)b * len + i];
  launch(1, 32, [&] { batch_sum(src.data(), dst.data(), batch, len); });
  compare("batch_sum " + shape({batch, len}), dst, want);
}

// The batch norms' sums add their values in the order of the plain strided loop: thread t
// takes elements t, t + BLOCK, t + 2 BLOCK, ... of `count` (each_element's four loads ahead of
// their adds change when values are read, not the order they are added in, so the sums are
// bit for bit those of that loop).
void each_element_order(unsigned count) {
  std::vector<std::vector<unsigned>> seen(BLOCK);
  launch(1, BLOCK, [&] {
    each_element(count, [](unsigned e) { return e; },
                 [&](unsigned e) { seen[threadIdx.x].push_back(e); });
  });
  bool ok = true;
  for (unsigned t = 0; t < BLOCK; ++t) {
    std::vector<unsigned> want;
    for (unsigned e = t; e < count; e += BLOCK) want.push_back(e);
    ok = ok && seen[t] == want;
  }
  failed += !ok;
  printf("%-48s %s\n", ("each_element order " + shape({(int)count})).c_str(),
         ok ? "ok" : "FAILED");
}

int main() {
  // Planes below and above a block's 256 threads, one value per plane and image, odd sizes.
  batch_norm(4, 3, 5, 7, false);
  batch_norm(4, 3, 5, 7, true);
  batch_norm(2, 8, 1, 1, true);
  batch_norm(3, 5, 33, 31, false);
  batch_norm(8, 4, 7, 7, true);
  channel_affine(3, 5, 6, 7, false);
  channel_affine(2, 4, 1, 1, true);
  // ResNet's 3x3 (stride 1 and 2), 1x1 (stride 2) and stem 7x7/2; AlexNet's 11x11/4 and 5x5.
  unroll(2, 3, 5, 7, 3, 1, 1);
  unroll(2, 3, 9, 8, 3, 2, 1);
  unroll(2, 4, 7, 7, 1, 2, 0);
  unroll(1, 3, 11, 11, 7, 2, 3);
  unroll(1, 2, 23, 23, 11, 4, 2);
  unroll(2, 2, 5, 5, 5, 1, 2);
  max_pool(2, 3, 16, 16, 3, 2, 1);
  max_pool(2, 3, 27, 27, 3, 2, 0);
  max_pool(3, 2, 9, 7, 3, 2, 1);
  max_pool(2, 3, 2, 2, 3, 2, 1);
  relu(1000);
  adam(500);
  sum_over_batch(3, 77);
  // No whole group of four, groups of four only, and groups of four and a remainder.
  for (unsigned count : {0u, 1u, BLOCK - 1u, 3u * BLOCK + 7u, 4u * BLOCK, 9u * BLOCK + BLOCK / 2u + 1u})
    each_element_order(count);
  printf("%d failed\n", failed);
  return failed != 0;
}
