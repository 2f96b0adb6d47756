#include "tfl_reader.h"
#include "hearth/nn.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model reader reads vectors in place and needs a little-endian target"
#endif

/* [pos, pos+n) inside the buffer, computed without overflow */
static int in_bounds(const tfl_buf *b, uint64_t pos, uint64_t n)
{
    return pos <= b->len && n <= (uint64_t)b->len - pos;
}

int tfl_table_at(const tfl_buf *b, uint32_t pos, tfl_table *out)
{
    out->pos = 0;
    if (pos == 0 || (pos & 3u) || !in_bounds(b, pos, 4))
        return HNN_E_BAD_OFFSET;
    int32_t soff = (int32_t)tfl_rd32(b->p + pos);
    int64_t vt = (int64_t)pos - (int64_t)soff;
    if (vt < 0 || (vt & 1) || !in_bounds(b, (uint64_t)vt, 4))
        return HNN_E_BAD_OFFSET;
    uint16_t vt_size = tfl_rd16(b->p + vt);
    uint16_t t_size = tfl_rd16(b->p + vt + 2);
    if (vt_size < 4 || (vt_size & 1) || !in_bounds(b, (uint64_t)vt, vt_size))
        return HNN_E_BAD_OFFSET;
    if (t_size < 4 || !in_bounds(b, pos, t_size))
        return HNN_E_TRUNCATED;
    out->pos = pos;
    out->vt = (uint32_t)vt;
    out->vt_fields = (uint16_t)((vt_size - 4) / 2);
    out->size = t_size;
    return HNN_OK;
}

int tfl_root(const tfl_buf *b, tfl_table *out)
{
    out->pos = 0;
    if (!b->p || b->len < 8)
        return HNN_E_TRUNCATED;
    /* positions are uint32 and sums of two of them must not wrap: every
     * check below is made in 64 bits, and the buffer stays below 2 GiB */
    if (b->len > 0x7fffffffu)
        return HNN_E_LIMIT;
    return tfl_table_at(b, tfl_rd32(b->p), out);
}

/* Offset of field within the table, 0 if absent; checks `size` bytes fit. */
static int field_off(const tfl_buf *b, const tfl_table *t, int field, uint32_t size, uint32_t *off)
{
    *off = 0;
    if (!t->pos || field < 0 || field >= t->vt_fields)
        return HNN_OK;
    uint16_t o = tfl_rd16(b->p + t->vt + 4 + 2 * (uint32_t)field);
    if (o == 0)
        return HNN_OK;
    if ((uint32_t)o + size > t->size || o < 4)
        return HNN_E_BAD_OFFSET;
    *off = o;
    return HNN_OK;
}

int tfl_scalar_pos(const tfl_buf *b, const tfl_table *t, int field, uint32_t size, uint32_t *pos)
{
    uint32_t off;
    int rc = field_off(b, t, field, size, &off);
    *pos = off ? t->pos + off : 0;
    return rc;
}

int tfl_u8(const tfl_buf *b, const tfl_table *t, int field, uint8_t def, uint8_t *out)
{
    uint32_t off;
    int rc = field_off(b, t, field, 1, &off);
    *out = off ? b->p[t->pos + off] : def;
    return rc;
}

int tfl_u32(const tfl_buf *b, const tfl_table *t, int field, uint32_t def, uint32_t *out)
{
    uint32_t off;
    int rc = field_off(b, t, field, 4, &off);
    *out = off ? tfl_rd32(b->p + t->pos + off) : def;
    return rc;
}

int tfl_i32(const tfl_buf *b, const tfl_table *t, int field, int32_t def, int32_t *out)
{
    uint32_t v;
    int rc = tfl_u32(b, t, field, (uint32_t)def, &v);
    *out = (int32_t)v;
    return rc;
}

int tfl_u64(const tfl_buf *b, const tfl_table *t, int field, uint64_t def, uint64_t *out)
{
    uint32_t off;
    int rc = field_off(b, t, field, 8, &off);
    *out = off ? ((uint64_t)tfl_rd32(b->p + t->pos + off) |
                  (uint64_t)tfl_rd32(b->p + t->pos + off + 4) << 32) : def;
    return rc;
}

/* Follow the uoffset stored in a field. */
static int deref(const tfl_buf *b, const tfl_table *t, int field, uint32_t *target)
{
    uint32_t off;
    int rc = field_off(b, t, field, 4, &off);
    *target = 0;
    if (rc || !off)
        return rc;
    uint64_t at = (uint64_t)t->pos + off;
    uint64_t dst = at + tfl_rd32(b->p + at);
    if (dst >= b->len)
        return HNN_E_BAD_OFFSET;
    *target = (uint32_t)dst;
    return HNN_OK;
}

int tfl_table_field(const tfl_buf *b, const tfl_table *t, int field, tfl_table *out)
{
    uint32_t pos;
    out->pos = 0;
    int rc = deref(b, t, field, &pos);
    if (rc || !pos)
        return rc;
    return tfl_table_at(b, pos, out);
}

int tfl_vec_field(const tfl_buf *b, const tfl_table *t, int field, uint32_t elem_size,
                  uint32_t align, tfl_vec *out)
{
    uint32_t pos;
    out->pos = 0;
    out->n = 0;
    int rc = deref(b, t, field, &pos);
    if (rc || !pos)
        return rc;
    if ((pos & 3u) || !in_bounds(b, pos, 4))
        return HNN_E_BAD_OFFSET;
    uint32_t n = tfl_rd32(b->p + pos);
    if (!in_bounds(b, (uint64_t)pos + 4, (uint64_t)n * elem_size))
        return HNN_E_TRUNCATED;
    if (align > 1 && ((pos + 4) % align))
        return HNN_E_ALIGN;
    out->pos = pos + 4;
    out->n = n;
    return HNN_OK;
}

int tfl_str_field(const tfl_buf *b, const tfl_table *t, int field, const char **s, uint32_t *n)
{
    tfl_vec v;
    *s = 0;
    *n = 0;
    int rc = tfl_vec_field(b, t, field, 1, 1, &v);
    if (rc || !v.pos)
        return rc;
    /* the terminating NUL must be inside the buffer too */
    if (!in_bounds(b, v.pos, (uint64_t)v.n + 1) || b->p[v.pos + v.n] != 0)
        return HNN_E_TRUNCATED;
    *s = (const char *)b->p + v.pos;
    *n = v.n;
    return HNN_OK;
}

int tfl_vec_table(const tfl_buf *b, const tfl_vec *v, uint32_t i, tfl_table *out)
{
    out->pos = 0;
    if (i >= v->n)
        return HNN_E_BAD_OFFSET;
    uint64_t at = (uint64_t)v->pos + 4ull * i;
    uint64_t dst = at + tfl_rd32(b->p + at);
    if (dst >= b->len)
        return HNN_E_BAD_OFFSET;
    return tfl_table_at(b, (uint32_t)dst, out);
}
