/* gomortem diff: placeholder, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "gomortem diff: not implemented yet\n");
	return 1;
}
