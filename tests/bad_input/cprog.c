/* A C program that dies with SIGABRT, or with an argument waits to be
 * gcore'd: its core is "the core of a C program", which gomortem must
 * refuse with a clear error. */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		for (;;)
			pause();
	abort();
}
