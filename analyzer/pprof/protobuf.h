/* protobuf: a minimal encoder of the protocol buffers wire format, enough
 * for profile.proto: varints, length-delimited fields and packed repeated
 * varints, written into a growable byte buffer.
 *
 * Errors are sticky: after an allocation fails every call is a no-op and
 * pb_buf.failed stays true, so a caller checks once at the end.
 */
#ifndef GOMORTEM_PROTOBUF_H
#define GOMORTEM_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed;  /* an allocation failed: the contents are incomplete */
};

/* Free the buffer's bytes and empty it (the struct itself is the caller's). */
void pb_buf_deinit(struct pb_buf *buf);

/* Forget the contents, keep the allocation (for a scratch buffer reused per message). */
static inline void pb_buf_clear(struct pb_buf *buf)
{
	buf->len = 0;
}

/* Append a base-128 varint. */
void pb_put_varint(struct pb_buf *buf, uint64_t value);

/* Field FIELD as a varint (int64, uint64, bool: wire type 0).  Proto3 omits
 * zero values; these write them anyway, which decoders accept. */
void pb_put_uint64(struct pb_buf *buf, uint32_t field, uint64_t value);

static inline void pb_put_int64(struct pb_buf *buf, uint32_t field, int64_t value)
{
	pb_put_uint64(buf, field, (uint64_t)value);
}

/* Field FIELD as length-delimited bytes (string, bytes, a nested message). */
void pb_put_bytes(struct pb_buf *buf, uint32_t field, const void *bytes, size_t len);

/* Field FIELD as the nested message already encoded in MSG. */
static inline void pb_put_message(struct pb_buf *buf, uint32_t field, const struct pb_buf *msg)
{
	pb_put_bytes(buf, field, msg->data, msg->len);
	if (msg->failed)
		buf->failed = true;
}

/* Field FIELD as a packed repeated varint of N VALUES (nothing when N is 0). */
void pb_put_packed(struct pb_buf *buf, uint32_t field, const uint64_t *values, size_t n);

#endif
