/*
 * fe_fft.c - KISS FFT-compatible Q15 real FFT (see fe_fft.h).
 *
 * What must match KISS bit for bit is each butterfly: which values it
 * combines, with which twiddle, and every rounding and int16 wrap-around on
 * the way. Where the values sit in memory between butterflies is free. KISS
 * recurses (decimation in time); here the same butterflies run level by
 * level, innermost first, in a self-sorting (Stockham) order so that every
 * butterfly loop walks contiguous runs of separate real/imaginary arrays,
 * eight lanes at a time with SSE2 or NEON (fe_fft_sse2.h, fe_fft_neon.h;
 * plain C elsewhere):
 *
 * Level l splits the transform into s = radix^l interleaved sub-transforms
 * (offset o < s) of length n = radix * m. Its butterfly (o, k), k < m, reads
 * element k of sub-transforms o + s*j of the next level (j < radix) and
 * writes elements k + q*m (q < radix) of sub-transform o, with KISS's
 * twiddle w^(j*k*s). A level's output is stored either "o-fast"
 * (index k'*s + o: runs over o, good when s is large, i.e. inner levels) or
 * "k-fast" (index o*n + k': runs over k, good for outer levels). Inner levels
 * are o-fast, outer ones k-fast, with one transpose where they meet. The
 * innermost level reads the input in natural order and the outermost writes
 * the spectrum in natural order, so no bit-reversal pass is needed.
 */
#include "fe_fft.h"

#include <math.h>
#include <string.h>

#define RESTRICT restrict
#define VEC_RUN 8         /* runs shorter than this switch to k-fast */

/* Q15 rounding shift, truncated to int16 (KISS sround). */
#define Q15(x) ((int16_t)(((int32_t)(x) + (1 << 14)) >> 15))

/* Q15 twiddle exactly as KISS rounds it: floor(0.5 + 32767 * cos/sin). */
static void twiddle(double phase, int16_t *r, int16_t *i)
{
    *r = (int16_t)floor(0.5 + 32767 * cos(phase));
    *i = (int16_t)floor(0.5 + 32767 * sin(phase));
}

static size_t align16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

/* Levels as KISS factors the complex length: radix 4 while it divides,
 * then one radix 2 (a power of two has no other factors). */
static int plan(int nc, int *radix, int *m, int *s)
{
    int n = nc, l = 0, stride = 1;
    while (n > 1) {
        if (l >= FE_FFT_MAX_LEVELS)
            return -1;
        radix[l] = (n % 4 == 0) ? 4 : 2;
        n /= radix[l];
        m[l] = n;
        s[l] = stride;
        stride *= radix[l];
        l++;
    }
    return l;
}

/* o-fast levels repeat each twiddle along the run of offsets. Each twiddle
 * is stored as two interleaved pairs, (re, -im) and (im, re), the operand
 * layout of a SIMD multiply-add that forms a complex product's real and
 * imaginary parts (x86 pmaddwd). */
static size_t level_tw_len(int m, int s)
{
    return (s >= VEC_RUN) ? (size_t)m * (size_t)s : (size_t)m;
}

size_t fe_fft_bytes(int nfft)
{
    int radix[FE_FFT_MAX_LEVELS], m[FE_FFT_MAX_LEVELS], s[FE_FFT_MAX_LEVELS];
    int nc = nfft / 2, nl, l;
    size_t bytes;
    if (nfft < 16 || nfft > FE_FFT_MAX || (nfft & (nfft - 1)) != 0)
        return 0;
    nl = plan(nc, radix, m, s);
    if (nl < 0)
        return 0;
    bytes = align16((size_t)nc * 2 * sizeof(int16_t))          /* twiddles */
          + align16((size_t)nc / 2 * 2 * sizeof(int16_t))      /* super twiddles */
          + align16((size_t)nc / 2 * 2 * sizeof(int16_t))      /* split_tw */
          + 4 * align16((size_t)nc * sizeof(int16_t));         /* ping-pong */
    for (l = 0; l < nl; l++)
        bytes += align16((size_t)(radix[l] - 1) * 4 *
                         level_tw_len(m[l], s[l]) * sizeof(int16_t));
    return bytes;
}

int fe_fft_init(fe_fft *f, int nfft, void *mem)
{
    static const double pi = 3.14159265358979323846;
    int radix[FE_FFT_MAX_LEVELS], m[FE_FFT_MAX_LEVELS], s[FE_FFT_MAX_LEVELS];
    uint8_t *p = (uint8_t *)mem;
    int nc, nl, i, l, b;

    if (fe_fft_bytes(nfft) == 0)
        return -1;
    memset(f, 0, sizeof(*f));
    f->nfft = nfft;
    f->ncfft = nc = nfft / 2;
    nl = plan(nc, radix, m, s);
    f->nlevels = nl;

    f->twiddles = (int16_t *)(void *)p;        p += align16((size_t)nc * 2 * sizeof(int16_t));
    f->super_twiddles = (int16_t *)(void *)p;  p += align16((size_t)nc / 2 * 2 * sizeof(int16_t));
    f->split_tw = (int16_t *)(void *)p;        p += align16((size_t)nc / 2 * 2 * sizeof(int16_t));
    for (b = 0; b < 2; b++) {
        f->buf[b][0] = (int16_t *)(void *)p;   p += align16((size_t)nc * sizeof(int16_t));
        f->buf[b][1] = (int16_t *)(void *)p;   p += align16((size_t)nc * sizeof(int16_t));
    }

    /* the same double expressions KISS evaluates */
    for (i = 0; i < nc; i++)
        twiddle(-2 * pi * i / nc, &f->twiddles[2 * i], &f->twiddles[2 * i + 1]);
    for (i = 0; i < nc / 2; i++) {
        twiddle(-3.14159265358979323846264338327 * ((double)(i + 1) / nc + .5),
                &f->super_twiddles[2 * i], &f->super_twiddles[2 * i + 1]);
        f->split_tw[i] = f->super_twiddles[2 * i];
        f->split_tw[nc / 2 + i] = f->super_twiddles[2 * i + 1];
    }

    for (l = 0; l < nl; l++) {
        fe_fft_level *lv = &f->level[l];
        int j, k, o;
        lv->radix = radix[l];
        lv->m = m[l];
        lv->s = s[l];
        lv->o_fast = s[l] >= VEC_RUN;
        lv->tw_len = (int)level_tw_len(m[l], s[l]);
        lv->tw = (int16_t *)(void *)p;
        p += align16((size_t)(radix[l] - 1) * 4 * (size_t)lv->tw_len * sizeof(int16_t));
        for (j = 1; j < lv->radix; j++) {
            int16_t *wa = lv->tw + (size_t)(j - 1) * 4 * (size_t)lv->tw_len;
            int16_t *wb = wa + 2 * lv->tw_len;
            for (k = 0; k < lv->m; k++) {
                const int idx = j * k * lv->s;   /* < 3/4 nc */
                const int reps = lv->o_fast ? lv->s : 1;
                /* KISS twiddles are floor(0.5 + 32767 sin): never -32768,
                 * so the negation is exact */
                const int16_t wr = f->twiddles[2 * idx], wi = f->twiddles[2 * idx + 1];
                for (o = 0; o < reps; o++) {
                    const int x = k * reps + o;
                    wa[2 * x] = wr;
                    wa[2 * x + 1] = (int16_t)-wi;
                    wb[2 * x] = wi;
                    wb[2 * x + 1] = wr;
                }
            }
        }
    }
    for (l = 0; l + 1 < nl; l++)
        f->level[l].transpose_in = !f->level[l].o_fast && f->level[l + 1].o_fast;
    return 0;
}

/* ---- butterflies over contiguous runs (forward transform) ---------------- */

/* One radix-4 butterfly per index x of the runs; exactly KISS's kf_bfly4:
 * C_FIXDIV by 4, three C_MULs, then int16 sums with wrap-around. wa/wb are
 * the interleaved twiddle pairs (see level_tw_len). */
#define BFLY4_SCALAR(x)                                                          \
    do {                                                                         \
        const int16_t a0r = Q15(r0[x] * 8191), a0i = Q15(i0[x] * 8191);          \
        const int16_t a1r = Q15(r1[x] * 8191), a1i = Q15(i1[x] * 8191);          \
        const int16_t a2r = Q15(r2[x] * 8191), a2i = Q15(i2[x] * 8191);          \
        const int16_t a3r = Q15(r3[x] * 8191), a3i = Q15(i3[x] * 8191);          \
        const int16_t s0r = Q15(a1r * wa1[2 * (x)] - a1i * wb1[2 * (x)]);        \
        const int16_t s0i = Q15(a1r * wb1[2 * (x)] + a1i * wa1[2 * (x)]);        \
        const int16_t s1r = Q15(a2r * wa2[2 * (x)] - a2i * wb2[2 * (x)]);        \
        const int16_t s1i = Q15(a2r * wb2[2 * (x)] + a2i * wa2[2 * (x)]);        \
        const int16_t s2r = Q15(a3r * wa3[2 * (x)] - a3i * wb3[2 * (x)]);        \
        const int16_t s2i = Q15(a3r * wb3[2 * (x)] + a3i * wa3[2 * (x)]);        \
        const int16_t s5r = (int16_t)(a0r - s1r), s5i = (int16_t)(a0i - s1i);   \
        const int16_t b0r = (int16_t)(a0r + s1r), b0i = (int16_t)(a0i + s1i);   \
        const int16_t s3r = (int16_t)(s0r + s2r), s3i = (int16_t)(s0i + s2i);   \
        const int16_t s4r = (int16_t)(s0r - s2r), s4i = (int16_t)(s0i - s2i);   \
        o2r[x] = (int16_t)(b0r - s3r);                                           \
        o2i[x] = (int16_t)(b0i - s3i);                                           \
        o0r[x] = (int16_t)(b0r + s3r);                                           \
        o0i[x] = (int16_t)(b0i + s3i);                                           \
        o1r[x] = (int16_t)(s5r + s4i);                                           \
        o1i[x] = (int16_t)(s5i - s4r);                                           \
        o3r[x] = (int16_t)(s5r - s4i);                                           \
        o3i[x] = (int16_t)(s5i + s4r);                                           \
    } while (0)

/* SIMD versions compute the same integers 8 lanes at a time. The ranges
 * that make each instruction exact: after C_FIXDIV by 4 every operand is in
 * [-8192, 8191], so a Q15 complex product is within +-11586 and fits int16
 * before any truncation; twiddles are never -32768. */
#if defined(__SSE2__)
#define FE_SIMD 8
#define FE_SIMD_SSE2 1
#include "fe_fft_sse2.h"
#elif defined(__ARM_NEON) || defined(__ARM_NEON__)
#define FE_SIMD 8
#include "fe_fft_neon.h"
#endif

static void bfly4_run(int n,
                      const int16_t *RESTRICT r0, const int16_t *RESTRICT i0,
                      const int16_t *RESTRICT r1, const int16_t *RESTRICT i1,
                      const int16_t *RESTRICT r2, const int16_t *RESTRICT i2,
                      const int16_t *RESTRICT r3, const int16_t *RESTRICT i3,
                      const int16_t *RESTRICT wa1, const int16_t *RESTRICT wb1,
                      const int16_t *RESTRICT wa2, const int16_t *RESTRICT wb2,
                      const int16_t *RESTRICT wa3, const int16_t *RESTRICT wb3,
                      int16_t *RESTRICT o0r, int16_t *RESTRICT o0i,
                      int16_t *RESTRICT o1r, int16_t *RESTRICT o1i,
                      int16_t *RESTRICT o2r, int16_t *RESTRICT o2i,
                      int16_t *RESTRICT o3r, int16_t *RESTRICT o3i)
{
    int x = 0;
#ifdef FE_SIMD
    const VEC k4 = KCONST(8191);
    for (; x + FE_SIMD <= n; x += FE_SIMD) {
        const VEC a0r = q15_mulk(LD(r0 + x), k4), a0i = q15_mulk(LD(i0 + x), k4);
        const VEC a1r = q15_mulk(LD(r1 + x), k4), a1i = q15_mulk(LD(i1 + x), k4);
        const VEC a2r = q15_mulk(LD(r2 + x), k4), a2i = q15_mulk(LD(i2 + x), k4);
        const VEC a3r = q15_mulk(LD(r3 + x), k4), a3i = q15_mulk(LD(i3 + x), k4);
        VEC s0r, s0i, s1r, s1i, s2r, s2i, s3r, s3i, s4r, s4i, s5r, s5i, b0r, b0i;
        q15_cmul(a1r, a1i, wa1 + 2 * x, wb1 + 2 * x, &s0r, &s0i);
        q15_cmul(a2r, a2i, wa2 + 2 * x, wb2 + 2 * x, &s1r, &s1i);
        q15_cmul(a3r, a3i, wa3 + 2 * x, wb3 + 2 * x, &s2r, &s2i);
        s5r = SUB(a0r, s1r); s5i = SUB(a0i, s1i);
        b0r = ADD(a0r, s1r); b0i = ADD(a0i, s1i);
        s3r = ADD(s0r, s2r); s3i = ADD(s0i, s2i);
        s4r = SUB(s0r, s2r); s4i = SUB(s0i, s2i);
        ST(o2r + x, SUB(b0r, s3r));
        ST(o2i + x, SUB(b0i, s3i));
        ST(o0r + x, ADD(b0r, s3r));
        ST(o0i + x, ADD(b0i, s3i));
        ST(o1r + x, ADD(s5r, s4i));
        ST(o1i + x, SUB(s5i, s4r));
        ST(o3r + x, SUB(s5r, s4i));
        ST(o3i + x, ADD(s5i, s4r));
    }
#endif
    for (; x < n; x++)
        BFLY4_SCALAR(x);
}

static void bfly2_run(int n,
                      const int16_t *RESTRICT r0, const int16_t *RESTRICT i0,
                      const int16_t *RESTRICT r1, const int16_t *RESTRICT i1,
                      const int16_t *RESTRICT wa, const int16_t *RESTRICT wb,
                      int16_t *RESTRICT o0r, int16_t *RESTRICT o0i,
                      int16_t *RESTRICT o1r, int16_t *RESTRICT o1i)
{
    int x;
    for (x = 0; x < n; x++) {
        const int16_t ar = Q15(r0[x] * 16383), ai = Q15(i0[x] * 16383);
        const int16_t br = Q15(r1[x] * 16383), bi = Q15(i1[x] * 16383);
        const int16_t tr = Q15(br * wa[2 * x] - bi * wb[2 * x]);
        const int16_t ti = Q15(br * wb[2 * x] + bi * wa[2 * x]);
        o1r[x] = (int16_t)(ar - tr);
        o1i[x] = (int16_t)(ai - ti);
        o0r[x] = (int16_t)(ar + tr);
        o0i[x] = (int16_t)(ai + ti);
    }
}

static void run_level(const fe_fft_level *lv, int16_t *const src[2], int16_t *const dst[2])
{
    const int p = lv->radix, m = lv->m, s = lv->s, len = lv->tw_len;
    const int16_t *sr = src[0], *si = src[1];
    int16_t *dr = dst[0], *di = dst[1];
    const int16_t *tw = lv->tw;
    int outer, j;

    /* o-fast: one run of s per k; k-fast: one run of m per o */
    const int runs = lv->o_fast ? m : s;
    const int run = lv->o_fast ? s : m;
    for (outer = 0; outer < runs; outer++) {
        int in_off[4], out_off[4], tw_off;
        for (j = 0; j < p; j++) {
            if (lv->o_fast) {
                in_off[j] = outer * s * p + s * j;       /* input is o-fast too */
                out_off[j] = (outer + j * m) * s;
            } else {
                in_off[j] = (outer + s * j) * m;         /* input is k-fast */
                out_off[j] = outer * p * m + j * m;
            }
        }
        /* twiddle pairs of this run: 2 int16 per index, 4*len per j */
        tw_off = 2 * (lv->o_fast ? outer * s : 0);
        if (p == 4) {
            const int16_t *w = tw + tw_off;
            bfly4_run(run,
                      sr + in_off[0], si + in_off[0], sr + in_off[1], si + in_off[1],
                      sr + in_off[2], si + in_off[2], sr + in_off[3], si + in_off[3],
                      w, w + 2 * len, w + 4 * len, w + 6 * len, w + 8 * len, w + 10 * len,
                      dr + out_off[0], di + out_off[0], dr + out_off[1], di + out_off[1],
                      dr + out_off[2], di + out_off[2], dr + out_off[3], di + out_off[3]);
        } else {
            const int16_t *w = tw + tw_off;
            bfly2_run(run, sr + in_off[0], si + in_off[0], sr + in_off[1], si + in_off[1],
                      w, w + 2 * len, dr + out_off[0], di + out_off[0],
                      dr + out_off[1], di + out_off[1]);
        }
    }
}

static void transpose16(const int16_t *RESTRICT src, int16_t *RESTRICT dst)
{
#ifdef FE_SIMD_SSE2
    fe_transpose16_sse2(src, dst);
#else
    int r, c;
    for (r = 0; r < 16; r++)
        for (c = 0; c < 16; c++)
            dst[c * 16 + r] = src[r * 16 + c];
#endif
}

/* o-fast (rows k < m of s*p offsets) to k-fast (rows of m). */
static void transpose(int rows, int cols, const int16_t *RESTRICT src, int16_t *RESTRICT dst)
{
    int r, c;
    if (rows == 16 && cols == 16) {
        transpose16(src, dst);
        return;
    }
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++)
            dst[c * rows + r] = src[r * cols + c];
}

/* Split the packed complex transform into the spectrum of the real input
 * (kiss_fftr) for bins k = 1 .. h-1 (h = nc/2). mr/mi hold the mirror bins
 * nc-k already reversed and conjugated, so every access runs forward; the
 * mirror outputs go to hr/hi in the same (reversed) order. */
static void split_run(int h, const int16_t *RESTRICT tr, const int16_t *RESTRICT ti,
                      const int16_t *RESTRICT mr, const int16_t *RESTRICT mi,
                      const int16_t *RESTRICT wr, const int16_t *RESTRICT wi,
                      int16_t *RESTRICT lr, int16_t *RESTRICT li,
                      int16_t *RESTRICT hr, int16_t *RESTRICT hi)
{
    int k = 0;
#ifdef FE_SIMD
    /* The pre-scaled halves are within +-16384, their sums and differences
     * wrap in int16 (as in KISS), the twiddle product can exceed int16 and is
     * truncated (KISS's cast), and (a +- b) >> 1 is formed without the int16
     * overflow of the sum: floor((a+b)/2) = (a>>1) + (b>>1) + (a&b&1),
     * floor((a-b)/2) = (a>>1) - (b>>1) - (~a&b&1). */
    const VEC k2 = KCONST(16383), one = KCONST(1);
    for (; k + FE_SIMD <= h - 1; k += FE_SIMD) {
        const VEC pr = q15_mulk(LD(tr + k), k2), pi = q15_mulk(LD(ti + k), k2);
        const VEC nr = q15_mulk(LD(mr + k), k2), ni = q15_mulk(LD(mi + k), k2);
        const VEC f1r = ADD(pr, nr), f1i = ADD(pi, ni);
        const VEC f2r = SUB(pr, nr), f2i = SUB(pi, ni);
        VEC twr, twi;
        q15_cmul_wrap(f2r, f2i, wr + k, wi + k, &twr, &twi);
        ST(lr + k, ADD(ADD(SRA1(f1r), SRA1(twr)), AND(AND(f1r, twr), one)));
        ST(li + k, ADD(ADD(SRA1(f1i), SRA1(twi)), AND(AND(f1i, twi), one)));
        ST(hr + k, SUB(SUB(SRA1(f1r), SRA1(twr)), AND(ANDNOT(f1r, twr), one)));
        ST(hi + k, SUB(SUB(SRA1(twi), SRA1(f1i)), AND(ANDNOT(twi, f1i), one)));
    }
#endif
    for (; k < h - 1; k++) {
        const int16_t pr = Q15(tr[k] * 16383), pi = Q15(ti[k] * 16383);
        const int16_t nr = Q15(mr[k] * 16383), ni = Q15(mi[k] * 16383);
        const int16_t f1r = (int16_t)(pr + nr), f1i = (int16_t)(pi + ni);
        const int16_t f2r = (int16_t)(pr - nr), f2i = (int16_t)(pi - ni);
        const int16_t twr = Q15(f2r * wr[k] - f2i * wi[k]);
        const int16_t twi = Q15(f2r * wi[k] + f2i * wr[k]);
        lr[k] = (int16_t)((f1r + twr) >> 1);
        li[k] = (int16_t)((f1i + twi) >> 1);
        hr[k] = (int16_t)((f1r - twr) >> 1);
        hi[k] = (int16_t)((twi - f1i) >> 1);
    }
}

/* b[k] = a[n-1-k] (and negated) */
static void reverse(int n, const int16_t *RESTRICT a, int16_t *RESTRICT b, int negate)
{
    int k;
    if (negate)
        for (k = 0; k < n; k++)
            b[k] = (int16_t)-a[n - 1 - k];
    else
        for (k = 0; k < n; k++)
            b[k] = a[n - 1 - k];
}

static void deinterleave_shift(int nc, const int16_t *RESTRICT in, int shift,
                               int16_t *RESTRICT re, int16_t *RESTRICT im)
{
    int i = 0;
#ifdef FE_SIMD_SSE2
    i = fe_deinterleave_shift_sse2(nc, in, shift, re, im);
#endif
    for (; i < nc; i++) {
        re[i] = (int16_t)(uint16_t)((uint32_t)(uint16_t)in[2 * i] << shift);
        im[i] = (int16_t)(uint16_t)((uint32_t)(uint16_t)in[2 * i + 1] << shift);
    }
}

void fe_fft_real(const fe_fft *f, const int16_t *in, int shift, int16_t *out_r,
                 int16_t *out_i)
{
    const int nc = f->ncfft;
    int16_t *cur[2], *nxt[2], *tmp;
    int l;

    cur[0] = f->buf[0][0]; cur[1] = f->buf[0][1];
    nxt[0] = f->buf[1][0]; nxt[1] = f->buf[1][1];
    /* the real input read as nc complex values (even, odd samples), scaled
     * up by `shift` as TFLM's FftCompute does (through uint16: wraps) */
    deinterleave_shift(nc, in, shift, cur[0], cur[1]);
    for (l = f->nlevels - 1; l >= 0; l--) {
        const fe_fft_level *lv = &f->level[l];
        if (lv->transpose_in) {
            const int rows = lv->m, cols = lv->s * lv->radix;
            transpose(rows, cols, cur[0], nxt[0]);
            transpose(rows, cols, cur[1], nxt[1]);
            tmp = cur[0]; cur[0] = nxt[0]; nxt[0] = tmp;
            tmp = cur[1]; cur[1] = nxt[1]; nxt[1] = tmp;
        }
        run_level(lv, cur, nxt);
        tmp = cur[0]; cur[0] = nxt[0]; nxt[0] = tmp;
        tmp = cur[1]; cur[1] = nxt[1]; nxt[1] = tmp;
    }

    {
        const int16_t dr = Q15(cur[0][0] * 16383), di = Q15(cur[1][0] * 16383);
        out_r[0] = (int16_t)(dr + di);
        out_r[nc] = (int16_t)(dr - di);
        out_i[0] = out_i[nc] = 0;
    }
    {
        /* nxt is free now: mirrors of bins 1..h-1 (= tmp bins nc-1 .. h+1) */
        const int h = nc / 2;
        int16_t *mr = nxt[0], *mi = nxt[0] + h, *hr = nxt[1], *hi = nxt[1] + h;
        reverse(h - 1, cur[0] + h + 1, mr, 0);
        reverse(h - 1, cur[1] + h + 1, mi, 1);
        split_run(h, cur[0] + 1, cur[1] + 1, mr, mi, f->split_tw, f->split_tw + h,
                  out_r + 1, out_i + 1, hr, hi);
        reverse(h - 1, hr, out_r + h + 1, 0);
        reverse(h - 1, hi, out_i + h + 1, 0);
    }
    {
        /* k = nc/2 is its own mirror: KISS writes it twice, the second wins */
        const int k = nc / 2;
        const int16_t pr = Q15(cur[0][k] * 16383), pi = Q15(cur[1][k] * 16383);
        const int16_t nr = Q15(cur[0][nc - k] * 16383);
        const int16_t ni = Q15((int16_t)-cur[1][nc - k] * 16383);
        const int16_t f1r = (int16_t)(pr + nr), f1i = (int16_t)(pi + ni);
        const int16_t f2r = (int16_t)(pr - nr), f2i = (int16_t)(pi - ni);
        const int16_t wr = f->split_tw[k - 1], wi = f->split_tw[nc / 2 + k - 1];
        const int16_t twr = Q15(f2r * wr - f2i * wi);
        const int16_t twi = Q15(f2r * wi + f2i * wr);
        out_r[k] = (int16_t)((f1r - twr) >> 1);
        out_i[k] = (int16_t)((twi - f1i) >> 1);
    }
}
