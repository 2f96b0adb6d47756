/*
 * conv_util.c - prepare-time helpers of the int8 arithmetic kernels.
 * Semantics follow TFLite's padding.h, kernel_util.cc and
 * quantization_util.cc; see conv_util.h.
 */
#include <math.h>
#include <string.h>

#include "conv_util.h"

/* SIMD paths: AVX2 on x86-64 when the CPU has it (checked at run time, so
 * the library still runs on any x86-64), NEON wherever the compiler targets
 * it (baseline on AArch64). HNN_NO_SIMD forces the portable C. */
#if !defined(HNN_NO_SIMD) && defined(__x86_64__) && defined(__GNUC__)
#define KA_AVX2 1
#include <immintrin.h>
#endif
#if !defined(HNN_NO_SIMD) && defined(__ARM_NEON)
#define KA_NEON 1
#include <arm_neon.h>
#endif

int hnn_ka_out_size(int padding, int32_t in, int32_t filter, int32_t stride,
                    int32_t dilation)
{
    int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    if (stride <= 0)
        return 0;
    if (padding == HNN_PAD_SAME)
        return (int)(((int64_t)in + stride - 1) / stride);
    if (padding == HNN_PAD_VALID) {
        int64_t n = (int64_t)in + stride - eff;
        /* C division truncates toward zero; a negative numerator means no
         * output at all (TFLite would produce a degenerate size) */
        return n <= 0 ? 0 : (int)(n / stride);
    }
    return 0;
}

int32_t hnn_ka_padding(int32_t stride, int32_t dilation, int32_t in,
                       int32_t filter, int32_t out)
{
    int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    int64_t total = ((int64_t)out - 1) * stride + eff - in;
    return total > 0 ? (int32_t)(total / 2) : 0;
}

int hnn_ka_window(hnn_ctx *c, int padding, int32_t h, int32_t w, int32_t kh, int32_t kw,
                  int32_t sh, int32_t sw, int32_t dh, int32_t dw, hnn_ka_geom *g)
{
    HNN_CHECK(c, padding == HNN_PAD_SAME || padding == HNN_PAD_VALID, HNN_E_UNSUPPORTED_OP,
              "unknown padding");
    HNN_CHECK(c, sw >= 1 && sh >= 1 && sw <= HNN_KA_MAX_DIM && sh <= HNN_KA_MAX_DIM,
              HNN_E_SHAPE, "strides must be in [1, 32767]");
    HNN_CHECK(c, dw >= 1 && dh >= 1 && dw <= HNN_KA_MAX_DIM && dh <= HNN_KA_MAX_DIM,
              HNN_E_SHAPE, "dilations must be in [1, 32767]");
    HNN_CHECK(c, h <= 0x3fffffff / 2 && w <= 0x3fffffff / 2, HNN_E_LIMIT, "image too large");
    g->oh = hnn_ka_out_size(padding, h, kh, sh, dh);
    g->ow = hnn_ka_out_size(padding, w, kw, sw, dw);
    HNN_CHECK(c, g->oh > 0 && g->ow > 0, HNN_E_SHAPE, "filter larger than the (VALID-padded) input");
    g->ph = hnn_ka_padding(sh, dh, h, kh, g->oh);
    g->pw = hnn_ka_padding(sw, dw, w, kw, g->ow);
    HNN_CHECK(c, g->ph <= HNN_KA_MAX_DIM && g->pw <= HNN_KA_MAX_DIM, HNN_E_LIMIT, "padding too large");
    return HNN_OK;
}

int hnn_ka_check_q8(hnn_ctx *c, const hnn_tinfo *t, const char *what)
{
    (void)what;
    if (t->type != HNN_INT8)
        return hnn_fail(c, HNN_E_UNSUPPORTED_TYPE,
                        "only int8 activations and weights are supported");
    if (t->nq < 1)
        return hnn_fail(c, HNN_E_QUANT, "int8 tensor without quantization parameters");
    if (!(t->scale > 0.0f) || !isfinite(t->scale))
        return hnn_fail(c, HNN_E_QUANT, "quantization scale must be positive and finite");
    if (t->zero_point < -128 || t->zero_point > 127)
        return hnn_fail(c, HNN_E_QUANT, "int8 zero point outside [-128, 127]");
    return HNN_OK;
}

int hnn_ka_multiplier(hnn_ctx *c, double real, int32_t *mult, int *shift)
{
    if (!(real >= 0.0) || !isfinite(real))
        return hnn_fail(c, HNN_E_QUANT, "invalid effective requantization scale");
    hnn_quantize_multiplier(real, mult, shift);
    /* a left shift beyond 30 would overflow every nonzero accumulator;
     * no trained model gets near it (it means an effective scale >= 2^30) */
    if (*shift > 30)
        return hnn_fail(c, HNN_E_QUANT, "effective requantization scale too large");
    return HNN_OK;
}

int hnn_ka_channel_multipliers(hnn_ctx *c, float s_in, const hnn_tinfo *filt,
                               float s_out, int32_t n, int32_t *mult,
                               int8_t *shift)
{
    for (int32_t k = 0; k < n; k++) {
        float fs = hnn_tinfo_scale(filt, filt->nq > 1 ? k : 0);
        if (!(fs > 0.0f) || !isfinite(fs))
            return hnn_fail(c, HNN_E_QUANT, "filter scale must be positive and finite");
        /* TFLM: double(input_scale) * double(filter_scale) / double(output_scale) */
        double real = (double)s_in * (double)fs / (double)s_out;
        int32_t m;
        int s, rc;
        if ((rc = hnn_ka_multiplier(c, real, &m, &s)) != HNN_OK)
            return rc;
        if (mult) {
            mult[k] = m;
            shift[k] = (int8_t)s;
        }
    }
    return HNN_OK;
}

int hnn_ka_act_range(hnn_ctx *c, int act, const hnn_tinfo *out, int32_t *lo,
                     int32_t *hi)
{
    int rc = hnn_activation_range(act, out->scale, out->zero_point, -128, 127, lo, hi);
    if (rc == HNN_E_UNSUPPORTED_OP)
        return hnn_fail(c, rc, "unsupported fused activation");
    if (rc != HNN_OK)
        return hnn_fail(c, rc, "activation range does not fit the output quantization");
    if (*lo > *hi)
        return hnn_fail(c, HNN_E_QUANT, "empty activation range");
    return HNN_OK;
}

/* ---- elementwise broadcasting -------------------------------------------- */

int hnn_ka_filter_operands(hnn_ctx *c, const char *what, hnn_tinfo *x, hnn_tinfo *w,
                           hnn_tinfo *y)
{
    int rc;
    HNN_CHECK(c, c->n_in == 2 || c->n_in == 3, HNN_E_GRAPH, "takes 2 or 3 inputs");
    HNN_CHECK(c, c->n_out == 1, HNN_E_GRAPH, "has one output");
    if ((rc = hnn_in_info(c, 0, x)) || (rc = hnn_in_info(c, 1, w)) || (rc = hnn_out_info(c, 0, y)))
        return rc;
    if ((rc = hnn_ka_check_q8(c, x, "input")) || (rc = hnn_ka_check_q8(c, w, what)) ||
        (rc = hnn_ka_check_q8(c, y, "output")))
        return rc;
    return HNN_OK;
}

int hnn_ka_bias_operand(hnn_ctx *c, int32_t n, hnn_tinfo *b, int *has_bias)
{
    int rc;
    memset(b, 0, sizeof *b);
    *has_bias = c->n_in > 2 && c->in[2] >= 0;
    if (!*has_bias)
        return HNN_OK;
    if ((rc = hnn_in_info(c, 2, b)) != HNN_OK)
        return rc;
    HNN_CHECK(c, b->type == HNN_INT32, HNN_E_UNSUPPORTED_TYPE, "bias must be int32");
    HNN_CHECK(c, b->elems == n, HNN_E_SHAPE, "bias size differs from output channels");
    return HNN_OK;
}

int hnn_ka_binary_prepare(hnn_ctx *c, int max_rank, hnn_tinfo *a, hnn_tinfo *b, hnn_tinfo *y,
                          int *act, hnn_ka_bcast *bc)
{
    int rc;
    HNN_CHECK(c, c->n_in == 2 && c->n_out == 1, HNN_E_GRAPH, "takes two inputs and one output");
    if ((rc = hnn_in_info(c, 0, a)) || (rc = hnn_in_info(c, 1, b)) || (rc = hnn_out_info(c, 0, y)))
        return rc;
    if ((rc = hnn_ka_check_q8(c, a, "input 1")) || (rc = hnn_ka_check_q8(c, b, "input 2")) ||
        (rc = hnn_ka_check_q8(c, y, "output")))
        return rc;
    *act = hnn_opt_u8(&c->opts, 0, HNN_ACT_NONE);
    return hnn_ka_bcast_prepare(c, a, b, y, max_rank, bc);
}

int hnn_ka_bcast_prepare(hnn_ctx *c, const hnn_tinfo *a, const hnn_tinfo *b,
                         const hnn_tinfo *out, int max_rank, hnn_ka_bcast *bc)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int32_t ea[HNN_MAX_DIMS], eb[HNN_MAX_DIMS];
    int same = 1;

    HNN_CHECK(c, nd <= HNN_KA_BDIMS && out->ndim == nd, HNN_E_SHAPE,
              "output rank must be the larger input rank (at most 6)");
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        ea[i] = ia >= 0 ? a->dims[ia] : 1;
        eb[i] = ib >= 0 ? b->dims[ib] : 1;
        int32_t o = out->dims[i];
        HNN_CHECK(c, ea[i] > 0 && eb[i] > 0 && o > 0, HNN_E_SHAPE, "empty tensor");
        HNN_CHECK(c, (ea[i] == o || ea[i] == 1) && (eb[i] == o || eb[i] == 1) &&
                  (o == ea[i] || o == eb[i]), HNN_E_SHAPE,
                  "input shapes do not broadcast to the output shape");
        if (ea[i] != eb[i])
            same = 0;
    }
    /* TFLM only treats shapes as elementwise when they are equal once
     * extended; any other pair goes through its rank-limited broadcast */
    if (!same)
        HNN_CHECK(c, nd <= max_rank, HNN_E_SHAPE, "broadcast of this rank is not supported");

    /* drop unit output dims, merge neighbours that broadcast alike
     * (innermost first, so strides accumulate) */
    int32_t md[HNN_KA_BDIMS], m1[HNN_KA_BDIMS], m2[HNN_KA_BDIMS];
    int k = 0;
    int32_t st1 = 1, st2 = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int32_t o = out->dims[i];
        if (o == 1)
            continue;
        int fa = ea[i] == o, fb = eb[i] == o;
        if (k > 0 && (m1[k - 1] != 0) == fa && (m2[k - 1] != 0) == fb) {
            md[k - 1] *= o;
        } else {
            md[k] = o;
            m1[k] = fa ? st1 : 0;
            m2[k] = fb ? st2 : 0;
            k++;
        }
        if (fa)
            st1 *= o;
        if (fb)
            st2 *= o;
    }
    if (bc) {
        /* store outermost first, padded with unit dims in front */
        for (int i = 0; i < HNN_KA_BDIMS; i++) {
            int src = HNN_KA_BDIMS - 1 - i;     /* position counted from inside */
            bc->dims[i] = src < k ? md[src] : 1;
            bc->s1[i] = src < k ? m1[src] : 0;
            bc->s2[i] = src < k ? m2[src] : 0;
        }
    }
    return HNN_OK;
}

void hnn_ka_bcast_run(const hnn_ka_bcast *bc, const void *params, hnn_ka_row_fn row,
                      const int8_t *a, const int8_t *b, int8_t *y)
{
    const int32_t *d = bc->dims, *s1 = bc->s1, *s2 = bc->s2;
    size_t o = 0;
    for (int32_t i0 = 0; i0 < d[0]; i0++)
        for (int32_t i1 = 0; i1 < d[1]; i1++)
            for (int32_t i2 = 0; i2 < d[2]; i2++)
                for (int32_t i3 = 0; i3 < d[3]; i3++)
                    for (int32_t i4 = 0; i4 < d[4]; i4++) {
                        size_t pa = (size_t)i0 * s1[0] + (size_t)i1 * s1[1] +
                                    (size_t)i2 * s1[2] + (size_t)i3 * s1[3] +
                                    (size_t)i4 * s1[4];
                        size_t pb = (size_t)i0 * s2[0] + (size_t)i1 * s2[1] +
                                    (size_t)i2 * s2[2] + (size_t)i3 * s2[3] +
                                    (size_t)i4 * s2[4];
                        row(params, a + pa, s1[5], b + pb, s2[5], y + o, d[5]);
                        o += (size_t)d[5];
                    }
}

/* ---- vector primitives ------------------------------------------------------ */

/* Portable versions: also the reference the SIMD versions must equal. */
static void gemv_c(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                   int32_t xoff, int32_t *out)
{
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * ldw;
        int32_t s = 0;
        for (int32_t i = 0; i < n; i++)
            s += ((int32_t)x[i] + xoff) * wr[i];
        out[r] = s;
    }
}

static void mac_c(int32_t *acc, const int8_t *x, const int8_t *w, int32_t xoff, int32_t n)
{
    for (int32_t j = 0; j < n; j++)
        acc[j] += ((int32_t)x[j] + xoff) * w[j];
}

static void dw_accum_c(int32_t *acc, const int8_t *const *xt, size_t coff, const int8_t *w,
                       size_t wstride, int32_t ntaps, int32_t xoff, int32_t n, int accumulate)
{
    if (!accumulate)
        for (int32_t j = 0; j < n; j++)
            acc[j] = 0;
    for (int32_t t = 0; t < ntaps; t++)
        if (xt[t])
            mac_c(acc, xt[t] + coff, w + (size_t)t * wstride, xoff, n);
}

static void requant_c(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                      const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                      int32_t lo, int32_t hi, int8_t *y)
{
    for (int32_t j = 0; j < n; j++) {
        int32_t k = per_channel ? j : 0;
        int32_t a = bias ? hnn_ka_add_wrap(acc[j], bias[j]) : acc[j];
        y[j] = hnn_ka_requant(a, mult[k], shift[k], zp, lo, hi);
    }
}

#ifdef KA_AVX2
#define AVX2 __attribute__((target("avx2")))

static int have_avx2(void)
{
    /* reads the CPU model libgcc filled in at startup (cheap) */
    return __builtin_cpu_supports("avx2");
}

AVX2 static inline __m256i load16(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p));
}

AVX2 static inline int32_t hsum8(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* 16 (or, at the tail, 8) int8 widened to int16; lanes past an 8-byte
 * load are zero, so they add nothing to vpmaddwd sums. */
AVX2 static inline __m256i load8(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)p));
}

/* 4 int8 (a 4-byte load) widened to int16 in the low half of a vector. */
AVX2 static inline __m128i load4x(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm_cvtepi8_epi16(_mm_cvtsi32_si128(v));
}

/* 8 int8 widened to 8 int16 in a 128-bit vector. */
AVX2 static inline __m128i load8x(const int8_t *p)
{
    return _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)p));
}

/* The 8 horizontal sums of a0..a7 as one vector [sum a0, ..., sum a7]. */
AVX2 static inline __m256i hsum8x8(__m256i a0, __m256i a1, __m256i a2, __m256i a3,
                                   __m256i a4, __m256i a5, __m256i a6, __m256i a7)
{
    __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(a4, a5), _mm256_hadd_epi32(a6, a7));
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20),
                            _mm256_permute2x128_si256(u0, u1, 0x31));
}

/* Eight rows share each load of x: 16 int8 at a time widened to int16,
 * then vpmaddwd (exact: two int16 products summed into int32). */
AVX2 static void gemv_avx2(const int8_t *x, const int8_t *w, size_t ldw, int32_t n,
                           int32_t rows, int32_t xoff, int32_t *out)
{
    /* x + xoff in int16; past an 8-byte load the lanes hold xoff, but the
     * weights' lanes there are zero, so they still add nothing */
    const __m256i xo = _mm256_set1_epi16((int16_t)xoff);
    int32_t r = 0;
    const int32_t n16 = n & ~15, n8 = n & ~7;
    /* the last < 8 columns as one more 8-wide step: x from a copy padded
     * with -xoff (adds 0 once offset), built once for all rows; the weights
     * in place: 8 bytes from any row but the matrix's last stay inside it */
    const int pad_ok = n8 < n && ldw >= 8 && xoff >= -127 && xoff <= 128;
    __m256i xtail = xo;
    if (pad_ok) {
        int8_t xpad[8];
        memset(xpad, (int8_t)-xoff, sizeof xpad);
        memcpy(xpad, x + n8, (size_t)(n - n8));
        xtail = _mm256_add_epi16(load8(xpad), xo);
    }
    for (; r + 8 <= rows; r += 8) {
        const int8_t *wr = w + (size_t)r * ldw;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        __m256i a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int32_t i = 0;
#define ROWS8(LOAD) ROWS8V(LOAD, _mm256_add_epi16(LOAD(x + i), xo))
#define ROWS8V(LOAD, XV)                                                        \
        do {                                                                    \
            __m256i xv = (XV);                                                  \
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xv, LOAD(wr + i)));     \
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xv, LOAD(wr + ldw + i))); \
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(xv, LOAD(wr + 2 * ldw + i))); \
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(xv, LOAD(wr + 3 * ldw + i))); \
            a4 = _mm256_add_epi32(a4, _mm256_madd_epi16(xv, LOAD(wr + 4 * ldw + i))); \
            a5 = _mm256_add_epi32(a5, _mm256_madd_epi16(xv, LOAD(wr + 5 * ldw + i))); \
            a6 = _mm256_add_epi32(a6, _mm256_madd_epi16(xv, LOAD(wr + 6 * ldw + i))); \
            a7 = _mm256_add_epi32(a7, _mm256_madd_epi16(xv, LOAD(wr + 7 * ldw + i))); \
        } while (0)
        for (; i < n16; i += 16)
            ROWS8(load16);
        if (i < n8) {
            ROWS8(load8);
            i += 8;
        }
        if (i < n && pad_ok && r + 8 < rows) {
            ROWS8V(load8, xtail);
            i = n;
        }
#undef ROWS8V
#undef ROWS8
        __m256i sums = hsum8x8(a0, a1, a2, a3, a4, a5, a6, a7);
        if (i == n) {
            _mm256_storeu_si256((__m256i *)(void *)(out + r), sums);
            continue;
        }
        int32_t s[8];
        _mm256_storeu_si256((__m256i *)(void *)s, sums);
        for (; i < n; i++) {
            int32_t xi = (int32_t)x[i] + xoff;
            for (int k = 0; k < 8; k++)
                s[k] += xi * wr[(size_t)k * ldw + i];
        }
        memcpy(out + r, s, sizeof s);
    }
    for (; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * ldw;
        __m256i a = _mm256_setzero_si256();
        int32_t i = 0;
        for (; i < n16; i += 16)
            a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_add_epi16(load16(x + i), xo),
                                                      load16(wr + i)));
        if (i < n8) {
            a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_add_epi16(load8(x + i), xo),
                                                      load8(wr + i)));
            i += 8;
        }
        if (i < n && pad_ok && r + 1 < rows) {   /* not the matrix's last row */
            a = _mm256_add_epi32(a, _mm256_madd_epi16(xtail, load8(wr + i)));
            i = n;
        }
        int32_t s = hsum8(a);
        for (; i < n; i++)
            s += ((int32_t)x[i] + xoff) * wr[i];
        out[r] = s;
    }
}

/* 16 channels at a time, summed over all taps in registers. Two taps are
 * interleaved per channel (x_t, x_t+1 | w_t, w_t+1) so one vpmaddwd adds
 * both products; the lane order this leaves (channels 0-3, 8-11 | 4-7,
 * 12-15) is undone once at the end. */
AVX2 static void dw_accum_avx2(int32_t *acc, const int8_t *const *xt, size_t coff,
                               const int8_t *w, size_t wstride, int32_t ntaps, int32_t xoff,
                               int32_t n, int accumulate)
{
    /* a tap outside the image is x + xoff == 0 */
    const __m256i xo = _mm256_set1_epi16((int16_t)xoff), none = _mm256_setzero_si256();
    int32_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m256i lo = _mm256_setzero_si256(), hi = lo;
        int32_t t = 0;
        for (; t + 2 <= ntaps; t += 2) {
            __m256i x0 = xt[t] ? _mm256_add_epi16(load16(xt[t] + coff + j), xo) : none;
            __m256i x1 = xt[t + 1] ? _mm256_add_epi16(load16(xt[t + 1] + coff + j), xo) : none;
            __m256i w0 = load16(w + (size_t)t * wstride + j);
            __m256i w1 = load16(w + (size_t)(t + 1) * wstride + j);
            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1),
                                                        _mm256_unpacklo_epi16(w0, w1)));
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1),
                                                        _mm256_unpackhi_epi16(w0, w1)));
        }
        if (t < ntaps) {
            __m256i x0 = xt[t] ? _mm256_add_epi16(load16(xt[t] + coff + j), xo) : none;
            __m256i w0 = load16(w + (size_t)t * wstride + j);
            __m256i z = _mm256_setzero_si256();
            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, z),
                                                        _mm256_unpacklo_epi16(w0, z)));
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, z),
                                                        _mm256_unpackhi_epi16(w0, z)));
        }
        __m256i *a = (__m256i *)(void *)(acc + j);
        __m256i r0 = _mm256_permute2x128_si256(lo, hi, 0x20);
        __m256i r1 = _mm256_permute2x128_si256(lo, hi, 0x31);
        if (accumulate) {
            r0 = _mm256_add_epi32(r0, _mm256_loadu_si256(a));
            r1 = _mm256_add_epi32(r1, _mm256_loadu_si256(a + 1));
        }
        _mm256_storeu_si256(a, r0);
        _mm256_storeu_si256(a + 1, r1);
    }
    if (j + 8 <= n) {
        /* 8 channels with 128-bit vectors: the same pairing of two taps */
        const __m128i xo8 = _mm_set1_epi16((int16_t)xoff), z = _mm_setzero_si128();
        __m128i lo = z, hi = z;
        for (int32_t t = 0; t < ntaps; t += 2) {
            int two = t + 1 < ntaps;
            __m128i x0 = xt[t] ? _mm_add_epi16(load8x(xt[t] + coff + j), xo8) : z;
            __m128i x1 = two && xt[t + 1] ? _mm_add_epi16(load8x(xt[t + 1] + coff + j), xo8) : z;
            __m128i w0 = load8x(w + (size_t)t * wstride + j);
            __m128i w1 = two ? load8x(w + (size_t)(t + 1) * wstride + j) : z;
            lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(x0, x1), _mm_unpacklo_epi16(w0, w1)));
            hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(x0, x1), _mm_unpackhi_epi16(w0, w1)));
        }
        __m128i *a = (__m128i *)(void *)(acc + j);
        if (accumulate) {
            lo = _mm_add_epi32(lo, _mm_loadu_si128(a));
            hi = _mm_add_epi32(hi, _mm_loadu_si128(a + 1));
        }
        _mm_storeu_si128(a, lo);
        _mm_storeu_si128(a + 1, hi);
        j += 8;
    }
    if (j + 4 <= n) {
        /* 4 channels: 4-byte loads (exactly in bounds), taps paired as above */
        const __m128i xo8 = _mm_set1_epi16((int16_t)xoff), z = _mm_setzero_si128();
        __m128i s4 = z;
        for (int32_t t = 0; t < ntaps; t += 2) {
            int two = t + 1 < ntaps;
            __m128i x0 = xt[t] ? _mm_add_epi16(load4x(xt[t] + coff + j), xo8) : z;
            __m128i x1 = two && xt[t + 1] ? _mm_add_epi16(load4x(xt[t + 1] + coff + j), xo8) : z;
            __m128i w0 = load4x(w + (size_t)t * wstride + j);
            __m128i w1 = two ? load4x(w + (size_t)(t + 1) * wstride + j) : z;
            s4 = _mm_add_epi32(s4, _mm_madd_epi16(_mm_unpacklo_epi16(x0, x1), _mm_unpacklo_epi16(w0, w1)));
        }
        __m128i *a = (__m128i *)(void *)(acc + j);
        if (accumulate)
            s4 = _mm_add_epi32(s4, _mm_loadu_si128(a));
        _mm_storeu_si128(a, s4);
        j += 4;
    }
    for (; j < n; j++) {
        int32_t s = 0;
        for (int32_t t = 0; t < ntaps; t++)
            if (xt[t])
                s += ((int32_t)xt[t][coff + (size_t)j] + xoff) * w[(size_t)t * wstride + (size_t)j];
        acc[j] = accumulate ? acc[j] + s : s;
    }
}

/* MultiplyByQuantizedMultiplier (double rounding) on 8 lanes:
 *   x <<= max(shift, 0)                       (wrapping, as TFLM)
 *   h = SaturatingRoundingDoublingHighMul(x, m) = (x * m + 2^30) >> 31
 *       (the truncating division by 2^31 of TFLM's nudged product equals
 *       this floor form for both signs; m >= 0 so the saturating case
 *       x == m == INT32_MIN cannot occur)
 *   RoundingDivideByPOT(h, max(-shift, 0))    (round half away from zero) */
AVX2 static inline __m256i mbqm8(__m256i x, __m256i m, __m256i shift)
{
    __m256i zero = _mm256_setzero_si256();
    __m256i left = _mm256_max_epi32(shift, zero);
    __m256i right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    x = _mm256_sllv_epi32(x, left);
    __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
    __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
    __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32),
                                                    _mm256_srli_epi64(m, 32)), nudge);
    /* bits 31..62 of each 64-bit product: the low half after a logical
     * shift equals that of the arithmetic one */
    even = _mm256_srli_epi64(even, 31);
    odd = _mm256_slli_epi64(_mm256_srli_epi64(odd, 31), 32);
    __m256i h = _mm256_blend_epi32(even, odd, 0xaa);
    __m256i one = _mm256_set1_epi32(1);
    __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
    __m256i rem = _mm256_and_si256(h, mask);
    /* threshold = (mask >> 1) + (h < 0); cmpgt yields -1 for true */
    __m256i thr = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_cmpgt_epi32(zero, h));
    return _mm256_sub_epi32(_mm256_srav_epi32(h, right), _mm256_cmpgt_epi32(rem, thr));
}

AVX2 static void requant_avx2(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                              const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                              int32_t lo, int32_t hi, int8_t *y)
{
    __m256i vzp = _mm256_set1_epi32(zp), vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
    __m256i m = _mm256_set1_epi32(mult[0]), s = _mm256_set1_epi32(shift[0]);
    int32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(acc + j));
        if (bias)
            a = _mm256_add_epi32(a, _mm256_loadu_si256((const __m256i *)(const void *)(bias + j)));
        if (per_channel) {
            m = _mm256_loadu_si256((const __m256i *)(const void *)(mult + j));
            s = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(shift + j)));
        }
        __m256i v = _mm256_add_epi32(mbqm8(a, m, s), vzp);
        v = _mm256_min_epi32(_mm256_max_epi32(v, vlo), vhi);
        /* lanes are in [-128, 127] now: the saturating packs are exact */
        __m256i p16 = _mm256_packs_epi32(v, v);
        __m256i p8 = _mm256_packs_epi16(p16, p16);
        int32_t b0 = _mm_cvtsi128_si32(_mm256_castsi256_si128(p8));
        int32_t b1 = _mm_cvtsi128_si32(_mm256_extracti128_si256(p8, 1));
        memcpy(y + j, &b0, 4);
        memcpy(y + j + 4, &b1, 4);
    }
    /* the tail stays inside this function: calling requant_c (legacy SSE
     * encoding) with the upper ymm halves dirty costs a state transition
     * on some x86 cores, more than the whole block */
    for (; j < n; j++) {
        int32_t k = per_channel ? j : 0;
        y[j] = hnn_ka_requant(bias ? hnn_ka_add_wrap(acc[j], bias[j]) : acc[j], mult[k], shift[k],
                              zp, lo, hi);
    }
}
#endif /* KA_AVX2 */

#ifdef KA_NEON
/* int8 x int8 -> int16 products (exact), pairwise-added into int32. */
/* (x + xoff) in int16 times the widened weights, accumulated in int32. */
static inline int32x4_t mla8_off(int32x4_t a, int8x8_t x, int16x8_t xo, int8x8_t w)
{
    int16x8_t x16 = vaddq_s16(vmovl_s8(x), xo), w16 = vmovl_s8(w);
    a = vmlal_s16(a, vget_low_s16(x16), vget_low_s16(w16));
    return vmlal_s16(a, vget_high_s16(x16), vget_high_s16(w16));
}

static void gemv_neon(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                      int32_t xoff, int32_t *out)
{
    const int16x8_t xo = vdupq_n_s16((int16_t)xoff);
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * ldw;
        int32x4_t a = vdupq_n_s32(0);
        int32_t i = 0;
        if (xoff == 0) {   /* int8 x int8 products fit int16: the cheap form */
            for (; i + 16 <= n; i += 16) {
                int8x16_t xv = vld1q_s8(x + i), wv = vld1q_s8(wr + i);
                a = vpadalq_s16(a, vmull_s8(vget_low_s8(xv), vget_low_s8(wv)));
                a = vpadalq_s16(a, vmull_s8(vget_high_s8(xv), vget_high_s8(wv)));
            }
        }
        for (; i + 8 <= n; i += 8)
            a = mla8_off(a, vld1_s8(x + i), xo, vld1_s8(wr + i));
        int32_t s = vgetq_lane_s32(a, 0) + vgetq_lane_s32(a, 1) + vgetq_lane_s32(a, 2) +
                    vgetq_lane_s32(a, 3);
        for (; i < n; i++)
            s += ((int32_t)x[i] + xoff) * wr[i];
        out[r] = s;
    }
}

/* vqrdmulh is SaturatingRoundingDoublingHighMul; the fixup makes vrshl's
 * round-half-up round half away from zero (gemmlowp's NEON recipe). */
static inline int32x4_t mbqm4(int32x4_t x, int32x4_t m, int32x4_t shift)
{
    int32x4_t zero = vdupq_n_s32(0);
    int32x4_t left = vmaxq_s32(shift, zero);
    int32x4_t neg_right = vminq_s32(shift, zero);       /* -right */
    x = vreinterpretq_s32_u32(vshlq_u32(vreinterpretq_u32_s32(x), left));
    int32x4_t h = vqrdmulhq_s32(x, m);
    int32x4_t fixup = vshrq_n_s32(vandq_s32(h, neg_right), 31);
    return vrshlq_s32(vqaddq_s32(h, fixup), neg_right);
}

static void requant_neon(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                         const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                         int32_t lo, int32_t hi, int8_t *y)
{
    int32x4_t vzp = vdupq_n_s32(zp), vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
    int32x4_t m = vdupq_n_s32(mult[0]), s = vdupq_n_s32(shift[0]);
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        int32x4_t a = vld1q_s32(acc + j);
        if (bias)
            a = vaddq_s32(a, vld1q_s32(bias + j));
        if (per_channel) {
            int32_t sh[4] = {shift[j], shift[j + 1], shift[j + 2], shift[j + 3]};
            m = vld1q_s32(mult + j);
            s = vld1q_s32(sh);
        }
        int32x4_t v = vminq_s32(vmaxq_s32(vaddq_s32(mbqm4(a, m, s), vzp), vlo), vhi);
        int16x4_t v16 = vmovn_s32(v);
        int8x8_t v8 = vmovn_s16(vcombine_s16(v16, v16));
        y[j] = vget_lane_s8(v8, 0);
        y[j + 1] = vget_lane_s8(v8, 1);
        y[j + 2] = vget_lane_s8(v8, 2);
        y[j + 3] = vget_lane_s8(v8, 3);
    }
    if (j < n)
        requant_c(acc + j, bias ? bias + j : NULL, per_channel ? mult + j : mult,
                  per_channel ? shift + j : shift, per_channel, n - j, zp, lo, hi, y + j);
}
#endif /* KA_NEON */

void hnn_ka_gemv(const int8_t *x, const int8_t *w, size_t ldw, int32_t n, int32_t rows,
                 int32_t xoff, int32_t *out)
{
#if defined(KA_AVX2)
    if (have_avx2()) {
        gemv_avx2(x, w, ldw, n, rows, xoff, out);
        return;
    }
#elif defined(KA_NEON)
    gemv_neon(x, w, ldw, n, rows, xoff, out);
    return;
#endif
    gemv_c(x, w, ldw, n, rows, xoff, out);
}

void hnn_ka_dw_accum(int32_t *acc, const int8_t *const *xt, size_t coff, const int8_t *w,
                     size_t wstride, int32_t ntaps, int32_t xoff, int32_t n, int accumulate)
{
#if defined(KA_AVX2)
    if (have_avx2()) {
        dw_accum_avx2(acc, xt, coff, w, wstride, ntaps, xoff, n, accumulate);
        return;
    }
#endif
    dw_accum_c(acc, xt, coff, w, wstride, ntaps, xoff, n, accumulate);
}

void hnn_ka_requant_block(const int32_t *acc, const int32_t *bias, const int32_t *mult,
                    const int8_t *shift, int per_channel, int32_t n, int32_t zp,
                    int32_t lo, int32_t hi, int8_t *y)
{
#if defined(KA_AVX2)
    if (have_avx2()) {
        requant_avx2(acc, bias, mult, shift, per_channel, n, zp, lo, hi, y);
        return;
    }
#elif defined(KA_NEON)
    requant_neon(acc, bias, mult, shift, per_channel, n, zp, lo, hi, y);
    return;
#endif
    requant_c(acc, bias, mult, shift, per_channel, n, zp, lo, hi, y);
}
