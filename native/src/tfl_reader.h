/*
 * tfl_reader.h - bounds-checked, zero-copy reader for FlatBuffers (.tflite).
 *
 * Every accessor checks that what it touches lies inside the buffer and
 * returns a negative hnn_status otherwise; nothing is copied. Positions are
 * byte offsets from the start of the buffer (uint32: FlatBuffers are < 2 GiB).
 * Little-endian hosts only (checked at compile time in tfl_reader.c).
 */
#ifndef HEARTH_TFL_READER_H
#define HEARTH_TFL_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;
    uint32_t len;
} tfl_buf;

/* A table; pos == 0 means "absent" (position 0 holds the root offset, so no
 * table can start there). */
typedef struct {
    uint32_t pos;
    uint32_t vt;        /* vtable position */
    uint16_t vt_fields; /* fields described by the vtable */
    uint16_t size;      /* inline size of the table in bytes */
} tfl_table;

/* A vector: n elements starting at pos (just after the length word). */
typedef struct {
    uint32_t pos;
    uint32_t n;
} tfl_vec;

int tfl_root(const tfl_buf *b, tfl_table *out);
int tfl_table_at(const tfl_buf *b, uint32_t pos, tfl_table *out);

/* Scalars: absent -> def. Error if the field lies outside the table/buffer. */
int tfl_u8(const tfl_buf *b, const tfl_table *t, int field, uint8_t def, uint8_t *out);
int tfl_i32(const tfl_buf *b, const tfl_table *t, int field, int32_t def, int32_t *out);
int tfl_u32(const tfl_buf *b, const tfl_table *t, int field, uint32_t def, uint32_t *out);
int tfl_u64(const tfl_buf *b, const tfl_table *t, int field, uint64_t def, uint64_t *out);
/* Byte offset of an inline scalar field of `size` bytes, 0 if absent. */
int tfl_scalar_pos(const tfl_buf *b, const tfl_table *t, int field, uint32_t size, uint32_t *pos);

/* Sub-table / vector / string fields: absent -> pos 0 (vector n 0). Vector
 * elements must be elem_size bytes and aligned to `align` from the buffer start. */
int tfl_table_field(const tfl_buf *b, const tfl_table *t, int field, tfl_table *out);
int tfl_vec_field(const tfl_buf *b, const tfl_table *t, int field, uint32_t elem_size,
                  uint32_t align, tfl_vec *out);
/* A string: NUL-terminated inside the buffer (FlatBuffers guarantee); *s NULL if absent. */
int tfl_str_field(const tfl_buf *b, const tfl_table *t, int field, const char **s, uint32_t *n);
/* Element i of a vector of tables. */
int tfl_vec_table(const tfl_buf *b, const tfl_vec *v, uint32_t i, tfl_table *out);

static inline int32_t tfl_vec_i32(const tfl_buf *b, const tfl_vec *v, uint32_t i)
{
    const uint8_t *q = b->p + v->pos + 4u * i;
    return (int32_t)((uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24);
}

static inline uint32_t tfl_rd32(const uint8_t *q)
{
    return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
}

static inline uint16_t tfl_rd16(const uint8_t *q)
{
    return (uint16_t)(q[0] | q[1] << 8);
}

#endif /* HEARTH_TFL_READER_H */
