/* gomortem sql: run SQL over an analysis database (placeholder, being written). */
#include <stdio.h>

#include "cli.h"

int cmd_sql(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "gomortem sql: not implemented yet\n");
	return 1;
}
