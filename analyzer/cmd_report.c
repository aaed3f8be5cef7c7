/* gomortem report: placeholder, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "gomortem report: not implemented yet\n");
	return 1;
}
