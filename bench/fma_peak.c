/*
 * The machine's single-precision FMA peak, measured: each thread runs twelve
 * independent chains of vector fused multiply-adds (enough to cover the FMA
 * latency on every x86 core since Haswell), as wide as the compiler's target
 * allows (-march=native: 16 floats with AVX-512, else 8). Prints GFLOP/s
 * counting a multiply-add as 2 flops. Built and run by bench/fma_peak.ts.
 *
 *   cc -O2 -march=native -pthread bench/fma_peak.c -o fma_peak && ./fma_peak THREADS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#else
#define LANES 8
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));

#define CHAINS 12
static long iterations = 100000000L;
static volatile float seed = 1.0f;

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *chains(void *out) {
  vec acc[CHAINS];
  vec mul, add;
  for (int l = 0; l < LANES; l++) {
    mul[l] = seed * 0.9999999f;
    add[l] = seed * 1e-7f;
  }
  for (int c = 0; c < CHAINS; c++) {
    for (int l = 0; l < LANES; l++) acc[c][l] = seed + c + l;
  }
  for (long i = 0; i < iterations; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < CHAINS; c++) acc[c] = acc[c] * mul + add;
  }
  float sum = 0;
  for (int c = 0; c < CHAINS; c++) {
    for (int l = 0; l < LANES; l++) sum += acc[c][l];
  }
  *(float *)out = sum;
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256) {
    fprintf(stderr, "usage: fma_peak THREADS [ITERATIONS]\n");
    return 2;
  }
  if (argc > 2) iterations = atol(argv[2]);
  pthread_t ids[256];
  float sums[256];
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double t = seconds();
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, chains, &sums[i]);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    t = seconds() - t;
    double gflops = (double)threads * iterations * CHAINS * LANES * 2 / t / 1e9;
    if (gflops > best) best = gflops;
  }
  printf("%d threads %d lanes %.1f GFLOP/s (checksum %g)\n", threads, LANES, best, sums[0]);
  return 0;
}
