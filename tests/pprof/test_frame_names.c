/* pprof_frame_spelling (analyzer/pprof/frame_names.h) on the cases the corpus
 * does not have: channel arrows inside and outside brackets, nesting past
 * the cap, unmatched brackets.  Exit 0 when every case gives what the rule
 * says, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/pprof/frame_names.h"

static int check(const char *in, const char *want)
{
	char *s = strdup(in);
	if (!s)
		return 1;
	pprof_frame_spelling(s);
	int bad = strcmp(s, want) != 0;
	if (bad)
		fprintf(stderr, "FAIL: %s gave %s, want %s\n", in, s, want);
	free(s);
	return bad;
}

/* N '<' then N '>' in BUF (of 2N+1 bytes), optionally as '[' / ']'. */
static void nested(char *buf, int n, char open, char close)
{
	memset(buf, open, (size_t)n);
	memset(buf + n, close, (size_t)n);
	buf[2 * n] = '\0';
}

int main(void)
{
	static const char *const cases[][2] = {
		{ "map<string,*main.Record>.dirPtr", "map[string,*main.Record].dirPtr" },
		{ "[1]*table<string,int>", "[1]*table[string,int]" },
		{ "table<string,map<int,int>>.groups.data", "table[string,map[int,int]].groups.data" },
		{ "hchan<chan<- int>", "hchan[chan<- int]" },
		{ "hchan<<-chan int>.buf", "hchan[<-chan int].buf" },
		{ "chan<- int", "chan<- int" },
		{ "<-chan <-chan int", "<-chan <-chan int" },
		{ "[3]func() int", "[3]func() int" },
		{ "a>b<c", "a>b<c" },
		{ "x<y", "x<y" },
		{ "", "" },
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		failed += check(cases[i][0], cases[i][1]);
	/* 70 levels: the 64 outer pairs are respelled, the 6 inner stay. */
	char in[141], want[141];
	nested(in, 70, '<', '>');
	nested(want, 70, '[', ']');
	memset(want + 64, '<', 6);
	memset(want + 70, '>', 6);
	failed += check(in, want);
	printf("frame_names: %d of 12 cases failed\n", failed);
	return failed ? 1 : 0;
}
