/*
 * fe_fft.c - KISS FFT-compatible Q15 real FFT (see fe_fft.h).
 *
 * KISS computes the complex sub-FFT recursively (decimation in time: each
 * level splits its input into `radix` interleaved sub-sequences, transforms
 * them, then recombines with one butterfly pass). The butterflies of a level
 * are independent of each other, so the same results come from an iterative
 * schedule: one permutation of the input (what the recursion's leaves copy),
 * then every level's butterflies from the innermost out. Every arithmetic
 * step below (pre-scaling by 1/radix, Q15 rounding, int16 wrap-around) is
 * the one KISS's FIXED_POINT=16 macros perform, in the same order, which is
 * what makes the output bit-exact.
 */
#include "fe_fft.h"

#include <math.h>
#include <string.h>

/* Q15 rounding shift of a product sum, truncated to int16 (KISS sround). */
static inline int16_t q15(int32_t x)
{
    return (int16_t)((x + (1 << 14)) >> 15);
}

/* KISS C_FIXDIV: scale by (32767 / radix) / 32768 with rounding. */
static inline fe_cpx fixdiv(fe_cpx a, int32_t k)
{
    fe_cpx r;
    r.r = q15((int32_t)a.r * k);
    r.i = q15((int32_t)a.i * k);
    return r;
}

static inline fe_cpx cmul(fe_cpx a, fe_cpx b)
{
    fe_cpx m;
    m.r = q15((int32_t)a.r * b.r - (int32_t)a.i * b.i);
    m.i = q15((int32_t)a.r * b.i + (int32_t)a.i * b.r);
    return m;
}

static inline fe_cpx cadd(fe_cpx a, fe_cpx b)
{
    fe_cpx s;
    s.r = (int16_t)(a.r + b.r);
    s.i = (int16_t)(a.i + b.i);
    return s;
}

static inline fe_cpx csub(fe_cpx a, fe_cpx b)
{
    fe_cpx s;
    s.r = (int16_t)(a.r - b.r);
    s.i = (int16_t)(a.i - b.i);
    return s;
}

/* Q15 twiddle exactly as KISS rounds it: floor(0.5 + 32767 * cos/sin). */
static fe_cpx twiddle(double phase)
{
    fe_cpx t;
    t.r = (int16_t)floor(0.5 + 32767 * cos(phase));
    t.i = (int16_t)floor(0.5 + 32767 * sin(phase));
    return t;
}

static size_t align4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

size_t fe_fft_bytes(int nfft)
{
    size_t nc = (size_t)nfft / 2;
    return align4(nc * sizeof(fe_cpx))            /* twiddles */
         + align4(nc / 2 * sizeof(fe_cpx))        /* super twiddles */
         + align4(nc * sizeof(fe_cpx))            /* work */
         + align4(nc * sizeof(uint16_t));         /* permutation */
}

int fe_fft_init(fe_fft *f, int nfft, void *mem)
{
    static const double pi = 3.14159265358979323846;
    uint8_t *p = (uint8_t *)mem;
    int nc, n, i, l;
    int fstride[FE_FFT_MAX_STAGES];

    if (nfft < 8 || nfft > 8192 || (nfft & (nfft - 1)) != 0)
        return -1;
    memset(f, 0, sizeof(*f));
    f->nfft = nfft;
    f->ncfft = nc = nfft / 2;

    f->twiddles = (fe_cpx *)p;        p += align4((size_t)nc * sizeof(fe_cpx));
    f->super_twiddles = (fe_cpx *)p;  p += align4((size_t)nc / 2 * sizeof(fe_cpx));
    f->work = (fe_cpx *)p;            p += align4((size_t)nc * sizeof(fe_cpx));
    f->perm = (uint16_t *)p;

    /* KISS factors powers of 4 first, then at most one 2. */
    for (n = nc, l = 0; n > 1; l++) {
        f->radix[l] = (n % 4 == 0) ? 4 : 2;
        n /= f->radix[l];
        f->span[l] = n;
    }
    f->nstages = l;

    for (i = 0; i < nc; i++)
        f->twiddles[i] = twiddle(-2 * pi * i / nc);
    for (i = 0; i < nc / 2; i++)
        f->super_twiddles[i] = twiddle(-3.14159265358979323846264338327 *
                                       ((double)(i + 1) / nc + .5));

    /* Slot `pos` = sum k_l * span_l receives input sum k_l * fstride_l. */
    fstride[0] = 1;
    for (l = 1; l < f->nstages; l++)
        fstride[l] = fstride[l - 1] * f->radix[l - 1];
    for (i = 0; i < nc; i++) {
        int rest = i, src = 0;
        for (l = 0; l < f->nstages; l++) {
            src += (rest / f->span[l]) * fstride[l];
            rest %= f->span[l];
        }
        f->perm[i] = (uint16_t)src;
    }
    return 0;
}

static void bfly2(fe_cpx *out, const fe_cpx *tw, int fstride, int m)
{
    int k;
    for (k = 0; k < m; k++) {
        fe_cpx a = fixdiv(out[k], 32767 / 2);
        fe_cpx b = fixdiv(out[k + m], 32767 / 2);
        fe_cpx t = cmul(b, tw[k * fstride]);
        out[k + m] = csub(a, t);
        out[k] = cadd(a, t);
    }
}

static void bfly4(fe_cpx *out, const fe_cpx *tw, int fstride, int m)
{
    int k;
    for (k = 0; k < m; k++) {
        fe_cpx a0 = fixdiv(out[k], 32767 / 4);
        fe_cpx a1 = fixdiv(out[k + m], 32767 / 4);
        fe_cpx a2 = fixdiv(out[k + 2 * m], 32767 / 4);
        fe_cpx a3 = fixdiv(out[k + 3 * m], 32767 / 4);
        fe_cpx s0 = cmul(a1, tw[k * fstride]);
        fe_cpx s1 = cmul(a2, tw[2 * k * fstride]);
        fe_cpx s2 = cmul(a3, tw[3 * k * fstride]);
        fe_cpx s5 = csub(a0, s1);
        fe_cpx s3, s4;
        a0 = cadd(a0, s1);
        s3 = cadd(s0, s2);
        s4 = csub(s0, s2);
        out[k + 2 * m] = csub(a0, s3);
        out[k] = cadd(a0, s3);
        /* forward transform: multiply s4 by -j */
        out[k + m].r = (int16_t)(s5.r + s4.i);
        out[k + m].i = (int16_t)(s5.i - s4.r);
        out[k + 3 * m].r = (int16_t)(s5.r - s4.i);
        out[k + 3 * m].i = (int16_t)(s5.i + s4.r);
    }
}

void fe_fft_real(const fe_fft *f, const int16_t *in, fe_cpx *out)
{
    const int nc = f->ncfft;
    fe_cpx *w = f->work;
    fe_cpx dc;
    int i, l, k;

    /* The real input is read as nc complex pairs (even, odd samples). */
    for (i = 0; i < nc; i++) {
        int s = f->perm[i];
        w[i].r = in[2 * s];
        w[i].i = in[2 * s + 1];
    }
    {
        int fstride = nc;
        for (l = f->nstages - 1; l >= 0; l--) {
            int m = f->span[l], p = f->radix[l], block = p * m, g;
            fstride /= p;
            for (g = 0; g < nc; g += block) {
                if (p == 4)
                    bfly4(w + g, f->twiddles, fstride, m);
                else
                    bfly2(w + g, f->twiddles, fstride, m);
            }
        }
    }

    /* Split the packed transform into the spectrum of the real signal. */
    dc = fixdiv(w[0], 32767 / 2);
    out[0].r = (int16_t)(dc.r + dc.i);
    out[nc].r = (int16_t)(dc.r - dc.i);
    out[0].i = out[nc].i = 0;
    for (k = 1; k <= nc / 2; k++) {
        fe_cpx fpk, fpnk, f1k, f2k, t;
        fpk = fixdiv(w[k], 32767 / 2);
        fpnk.r = w[nc - k].r;
        fpnk.i = (int16_t)-w[nc - k].i;
        fpnk = fixdiv(fpnk, 32767 / 2);
        f1k = cadd(fpk, fpnk);
        f2k = csub(fpk, fpnk);
        t = cmul(f2k, f->super_twiddles[k - 1]);
        /* at k == nc/2 both writes hit the same bin; the second one wins */
        out[k].r = (int16_t)((f1k.r + t.r) >> 1);
        out[k].i = (int16_t)((f1k.i + t.i) >> 1);
        out[nc - k].r = (int16_t)((f1k.r - t.r) >> 1);
        out[nc - k].i = (int16_t)((t.i - f1k.i) >> 1);
    }
}
