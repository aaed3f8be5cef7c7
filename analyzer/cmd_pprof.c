/* gomortem pprof: placeholder, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_pprof(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "gomortem pprof: not implemented yet\n");
	return 1;
}
