/* The report's line on what typing left unknown, by cause
 * (meta.untyped_causes, graph/untyped.h). */
#ifndef GOMORTEM_REPORT_UNTYPED_H
#define GOMORTEM_REPORT_UNTYPED_H

#include <stddef.h>

/* SUMMARY ("cause: N objects, B bytes; ...", or NULL for a database that
 * predates it) as a sentence for readers into BUF; returns BUF. */
const char *gm_report_untyped_line(const char *summary, char *buf, size_t len);

#endif
