/* shape_names: the name the Go compiler gives a generic type's shape
 * instantiation.  DWARF describes only the instantiations some variable or
 * function names; one a program allocates only inside generic code (Go
 * 1.27's internal/sync.entry[interface {},interface {}], sync.Map's
 * entries) is there only as its shape, go.shape.<arg> for each argument,
 * which has the same layout. */
#ifndef GOMORTEM_SHAPE_NAMES_H
#define GOMORTEM_SHAPE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* "pkg.T[A,B]" -> "pkg.T[go.shape.A,go.shape.B]" into BUF (LEN bytes);
 * false when NAME has no type arguments or the result does not fit. */
bool gm_shape_name(const char *name, char *buf, size_t len);

#endif
