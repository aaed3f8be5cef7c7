#include "build_info.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The note type of the Go build ID (cmd/link ELF_NOTE_GOBUILDID_TAG). */
#define GO_BUILDID_NOTE_TYPE 4
/* .go.buildinfo header (debug/buildinfo): 14-byte magic, ptrsize, flags. */
static const char buildinfo_magic[] = "\xff Go buildinf:";
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HEADER_LEN 32
#define BUILDINFO_FLAG_INLINE_STRINGS 2
/* Cap on a version string; real ones are under 64 bytes. */
#define MAX_VERSION_LEN 256

static char *hex_string(const uint8_t *bytes, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", bytes[i]);
	s[2 * n] = '\0';
	return s;
}

struct gm_error *gm_build_ids_scan(const uint8_t *p, uint64_t size, uint64_t vaddr, struct gm_build_ids *ids)
{
	uint64_t off = 0;
	while (size - off >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		uint64_t desc_off = off + 12 + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (desc_off > size || descsz > size - desc_off)
			break;
		const char *name = (const char *)p + off + 12;
		const uint8_t *desc = p + desc_off;
		if (namesz == 4 && memcmp(name, "Go\0\0", 4) == 0 && type == GO_BUILDID_NOTE_TYPE && !ids->go) {
			if (!(ids->go = strndup((const char *)desc, descsz)))
				return &gm_error_nomem;
			ids->go_note_vaddr = vaddr + off;
			ids->go_note_size = desc_off + descsz - off;
		} else if (namesz == 4 && memcmp(name, "GNU", 4) == 0 && type == NT_GNU_BUILD_ID && !ids->gnu) {
			if (!(ids->gnu = hex_string(desc, descsz)))
				return &gm_error_nomem;
			ids->gnu_note_vaddr = vaddr + off;
			ids->gnu_note_size = desc_off + descsz - off;
		}
		off = next;
	}
	return NULL;
}

void gm_build_ids_deinit(struct gm_build_ids *ids)
{
	free(ids->go);
	free(ids->gnu);
	*ids = (struct gm_build_ids){ 0 };
}

bool gm_buildinfo_find(const uint8_t *p, size_t len, size_t *ret_off)
{
	for (size_t off = 0; len >= BUILDINFO_HEADER_LEN && off <= len - BUILDINFO_HEADER_LEN; off += 16) {
		if (memcmp(p + off, buildinfo_magic, BUILDINFO_MAGIC_LEN) == 0) {
			*ret_off = off;
			return true;
		}
	}
	return false;
}

/* Decode a uvarint at P (at most END); returns bytes used, 0 on error. */
static size_t read_uvarint(const uint8_t *p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 10 && p + i < end; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*ret = v;
			return i + 1;
		}
	}
	return 0;
}

/* The value of build setting KEY in module info INFO (LEN bytes, lines of
 * tab-separated fields, "build\tKEY=VALUE"), malloc'd into *RET; NULL if unset. */
static struct gm_error *find_build_setting(const char *info, size_t len, const char *key, char **ret)
{
	size_t klen = strlen(key);
	for (const char *line = info, *end = info + len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - line);
		if (n > 6 + klen + 1 && memcmp(line, "build\t", 6) == 0 && memcmp(line + 6, key, klen) == 0 &&
		    line[6 + klen] == '=') {
			*ret = strndup(line + 6 + klen + 1, n - 6 - klen - 1);
			return *ret ? NULL : &gm_error_nomem;
		}
		line = eol + 1;
	}
	return NULL;
}

/* The inline string format is what every supported Go version (1.18+) writes. */
static struct gm_error *parse_strings(const uint8_t *p, size_t len, const char *name, struct gm_buildinfo *bi)
{
	if (!(p[15] & BUILDINFO_FLAG_INLINE_STRINGS))
		return gm_error_create(GM_ERR_BAD_EXE,
				       "%s: Go build info in the pre-1.18 format; Go 1.18 or later is needed", name);
	uint64_t vlen;
	size_t n = read_uvarint(p + BUILDINFO_HEADER_LEN, p + len, &vlen);
	if (n == 0 || vlen > MAX_VERSION_LEN || vlen > len - BUILDINFO_HEADER_LEN - n)
		return gm_error_create(GM_ERR_BAD_EXE, "%s: corrupt .go.buildinfo version string", name);
	if (!(bi->go_version = strndup((const char *)p + BUILDINFO_HEADER_LEN + n, vlen)))
		return &gm_error_nomem;
	/* The module info string follows: "build\tKEY=VALUE" lines among others. */
	const uint8_t *info = p + BUILDINFO_HEADER_LEN + n + vlen;
	uint64_t ilen;
	size_t m = read_uvarint(info, p + len, &ilen);
	if (m == 0 || ilen > (uint64_t)(p + len - info) - m)
		return NULL; /* no module info: no build settings to report */
	struct gm_error *err = find_build_setting((const char *)info + m, ilen, "GOEXPERIMENT", &bi->go_experiments);
	if (!err)
		err = find_build_setting((const char *)info + m, ilen, "GOARCH", &bi->goarch);
	return err;
}

struct gm_error *gm_buildinfo_parse(const uint8_t *p, size_t len, const char *name, struct gm_buildinfo *ret)
{
	if (len < BUILDINFO_HEADER_LEN || memcmp(p, buildinfo_magic, BUILDINFO_MAGIC_LEN) != 0)
		return NULL;
	struct gm_buildinfo bi = { 0 };
	struct gm_error *err = parse_strings(p, len, name, &bi);
	if (err) {
		gm_buildinfo_deinit(&bi);
		return err;
	}
	*ret = bi;
	return NULL;
}

void gm_buildinfo_deinit(struct gm_buildinfo *bi)
{
	free(bi->go_version);
	free(bi->go_experiments);
	free(bi->goarch);
	*bi = (struct gm_buildinfo){ 0 };
}
