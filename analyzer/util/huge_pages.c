#include "huge_pages.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUNABLE "glibc.malloc.hugetlb"

/* Whether the kernel gives transparent huge pages to a region that asks
 * (its setting is not [never]). */
static bool kernel_has_huge_pages(void)
{
	char line[128];
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	bool on = f && fgets(line, sizeof(line), f) && !strstr(line, "[never]");
	if (f)
		fclose(f);
	return on;
}

void gm_reexec_with_huge_pages(char **argv)
{
#ifdef __GLIBC__
	const char *have = getenv("GLIBC_TUNABLES");
	char value[4096];
	if ((have && strstr(have, TUNABLE)) || getenv("GOMORTEM_NO_HUGE_PAGES") || !kernel_has_huge_pages())
		return;
	int n = have && *have ? snprintf(value, sizeof(value), "%s:" TUNABLE "=1", have)
			      : snprintf(value, sizeof(value), TUNABLE "=1");
	if (n < 0 || (size_t)n >= sizeof(value))
		return;
	char *saved = have ? strdup(have) : NULL;
	if ((!have || saved) && setenv("GLIBC_TUNABLES", value, 1) == 0) {
		execv("/proc/self/exe", argv);
		/* Not executed (no /proc): go on with the environment as it was. */
		if (saved)
			setenv("GLIBC_TUNABLES", saved, 1);
		else
			unsetenv("GLIBC_TUNABLES");
	}
	free(saved);
#else
	(void)argv;
#endif
}
