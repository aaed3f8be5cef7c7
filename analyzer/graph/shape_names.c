#include "shape_names.h"

#include <string.h>

static const char shape_prefix[] = "go.shape.";

/* Append N bytes of S to BUF at *AT; false if they do not fit (with the NUL). */
static bool append(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
	if (n >= len - *at)
		return false;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
	return true;
}

bool gm_shape_name(const char *name, char *buf, size_t len)
{
	const char *open = strchr(name, '[');
	size_t n = strlen(name), at = 0;
	if (!open || open == name || n < 2 || name[n - 1] != ']' || len == 0)
		return false;
	/* The arguments are split at the commas outside brackets, braces and
	 * parentheses (map[K]V, struct { ... }, func(A, B) hold their own). */
	const char *arg = open + 1, *end = name + n - 1;
	if (!append(buf, len, &at, name, (size_t)(arg - name)))
		return false;
	int depth = 0;
	for (const char *c = arg; c <= end; c++) {
		if (c < end && (*c == '[' || *c == '{' || *c == '('))
			depth++;
		else if (c < end && (*c == ']' || *c == '}' || *c == ')'))
			depth--;
		else if (c == end || (*c == ',' && depth == 0)) {
			if (c == arg || !append(buf, len, &at, shape_prefix, sizeof(shape_prefix) - 1) ||
			    !append(buf, len, &at, arg, (size_t)(c - arg)) || !append(buf, len, &at, c, 1))
				return false;
			arg = c + 1;
		}
	}
	return depth == 0;
}
