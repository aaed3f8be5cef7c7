/* A report: the sections in their order, built into a document and rendered
 * in the chosen format; Markdown is built again with shorter lists until it
 * fits under MD_MAX_CHARS. */
#include "report_internal.h"

#include <stdlib.h>

#include "analyzer/util/version.h"
#include "render.h"

/* Markdown reports stay under this many bytes (so characters too). */
#define MD_MAX_CHARS 65536

static struct gm_error *section_title(struct report *r, struct doc *d)
{
	const char *command = report_meta(r, "command");
	doc_heading(d, 1, "gomortem report: %s", command && *command ? command : report_meta(r, "exe_path"));
	return NULL;
}

static struct gm_error *build_doc(struct report *r, struct doc *d)
{
	struct gm_error *(*const sections[])(struct report *, struct doc *) = {
		section_title, section_suspects, section_goroutine_leaks, section_summary, section_memory, section_types, section_alloc_sites, section_retainers,
		section_goroutines, section_size_classes, section_unsaved, section_warnings,
	};
	r->lists_cut = false;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		struct gm_error *err = sections[i](r, d);
		if (err)
			return err;
	}
	doc_heading(d, 2, "About this report");
	doc_para(d, "Made by gomortem %s report from %s. It shows no memory contents%s. Every table comes from "
		 "the database's views; run gomortem sql on it for more (docs/queries.md).",
		 GOMORTEM_VERSION, r->options->db_path,
		 r->options->include_contents ? " (--include-contents is reserved: analyze stores no contents yet)" : "");
	if (r->top < r->options->top)
		doc_para(d, "Lists were shortened to %ld entries (from --top %ld) to keep this report under "
			 "65,536 characters.", r->top, r->options->top);
	return d->failed ? &gm_error_nomem : NULL;
}

static struct gm_error *render(struct report *r, struct strbuf *ret)
{
	struct gm_error *err = NULL;
	r->top = r->options->top;
	for (;;) {
		struct doc d = { 0 };
		struct strbuf out = { 0 };
		err = build_doc(r, &d);
		if (!err) {
			switch (r->options->format) {
			case FORMAT_MD: render_md(&d, &out); break;
			case FORMAT_HTML: render_html(&d, &out); break;
			case FORMAT_TEXT: render_text(&d, &out); break;
			}
			if (out.failed)
				err = &gm_error_nomem;
		}
		doc_deinit(&d);
		bool fits = r->options->format != FORMAT_MD || out.len < MD_MAX_CHARS || r->top <= 1;
		if (err || fits) {
			if (err)
				free(out.data);
			else
				*ret = out;
			return err;
		}
		free(out.data);
		/* Too long: shorten every list and build again. */
		r->top = r->top > 8 ? r->top * 2 / 3 : r->top - 1;
	}
}

struct gm_error *report_make(const struct report_options *options, struct strbuf *ret)
{
	struct report r = { .options = options };
	struct gm_error *err = report_open(&r);
	if (!err)
		err = render(&r, ret);
	report_close(&r);
	return err;
}
