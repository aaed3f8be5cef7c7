/* protobuf: see protobuf.h. */
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/protobuf.h"

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

void pb_buf_deinit(struct pb_buf *buf)
{
	free(buf->data);
	*buf = (struct pb_buf){ 0 };
}

/* Make room for N more bytes; false (and the buffer marked failed) if impossible. */
static bool reserve(struct pb_buf *buf, size_t n)
{
	if (buf->failed)
		return false;
	if (buf->cap - buf->len >= n)
		return true;
	size_t cap = buf->cap ? buf->cap : 256;
	while (cap - buf->len < n) {
		if (cap > SIZE_MAX / 2) {
			buf->failed = true;
			return false;
		}
		cap *= 2;
	}
	uint8_t *grown = realloc(buf->data, cap);
	if (!grown) {
		buf->failed = true;
		return false;
	}
	buf->data = grown;
	buf->cap = cap;
	return true;
}

void pb_put_varint(struct pb_buf *buf, uint64_t value)
{
	if (!reserve(buf, 10))
		return;
	while (value >= 0x80) {
		buf->data[buf->len++] = (uint8_t)(value | 0x80);
		value >>= 7;
	}
	buf->data[buf->len++] = (uint8_t)value;
}

static void put_key(struct pb_buf *buf, uint32_t field, unsigned wire_type)
{
	pb_put_varint(buf, ((uint64_t)field << 3) | wire_type);
}

void pb_put_uint64(struct pb_buf *buf, uint32_t field, uint64_t value)
{
	put_key(buf, field, WIRE_VARINT);
	pb_put_varint(buf, value);
}

void pb_put_bytes(struct pb_buf *buf, uint32_t field, const void *bytes, size_t len)
{
	put_key(buf, field, WIRE_BYTES);
	pb_put_varint(buf, len);
	if (len && reserve(buf, len)) {
		memcpy(buf->data + buf->len, bytes, len);
		buf->len += len;
	}
}

static size_t varint_size(uint64_t value)
{
	size_t n = 1;
	while (value >= 0x80) {
		value >>= 7;
		n++;
	}
	return n;
}

void pb_put_packed(struct pb_buf *buf, uint32_t field, const uint64_t *values, size_t n)
{
	if (n == 0)
		return;
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += varint_size(values[i]);
	put_key(buf, field, WIRE_BYTES);
	pb_put_varint(buf, len);
	if (!reserve(buf, len))  /* once for all: a sample's stack is dozens of varints */
		return;
	uint8_t *at = buf->data + buf->len;
	for (size_t i = 0; i < n; i++) {
		uint64_t value = values[i];
		for (; value >= 0x80; value >>= 7)
			*at++ = (uint8_t)(value | 0x80);
		*at++ = (uint8_t)value;
	}
	buf->len += len;
}
