/* The HTML report's heading anchors, computed once for the table of
 * contents and the headings: a heading's slug, "-2", "-3" ... for the
 * repeats of an earlier one in document order, whatever lies between; the
 * contents link to exactly the ids the headings carry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/report/render.h"

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "FAIL: %s\n", what);
		failures++;
	}
}

/* How many times NEEDLE occurs in HAY. */
static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

int main(void)
{
	struct doc d = { 0 };
	doc_heading(&d, 1, "Title");
	doc_heading(&d, 2, "Top types");
	doc_heading(&d, 3, "By bytes");
	doc_heading(&d, 2, "Other section");
	doc_heading(&d, 3, "By bytes");
	doc_heading(&d, 3, "by  BYTES!");
	doc_heading(&d, 2, "Top types");
	doc_heading(&d, 3, "%s", "--");
	struct strbuf sb = { 0 };
	render_html(&d, &sb);
	check(!sb.failed && sb.data, "rendered");
	const char *html = sb.data ? sb.data : "";
	static const char *const ids[] = { "top-types", "by-bytes", "other-section", "by-bytes-2", "by-bytes-3",
					   "top-types-2", "s" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char id[64], href[64];
		snprintf(id, sizeof(id), " id=\"%s\">", ids[i]);
		snprintf(href, sizeof(href), "<a href=\"#%s\">", ids[i]);
		check(count(html, id) == 1, id);
		check(count(html, href) == 1, href);
	}
	check(count(html, " id=\"") == 7 && count(html, "<a href=\"#") == 7, "one anchor and one link per section heading");
	free(sb.data);
	doc_deinit(&d);
	printf("html_anchors: %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
