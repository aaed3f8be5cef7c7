// Command cgo parks threads in C code: goroutines blocked inside C
// functions called through cgo (pause, read on a pipe nobody writes, usleep
// in a loop) and a pthread created by C, unknown to the Go runtime, waiting
// in pthread_cond_wait. Every such thread blocks all signals first, so the
// runtime's GOTRACEBACK=crash relay (SIGQUIT to each M) cannot move it: at
// core time its pc is in libc, below a chain of named C frames
// (cgo_inner_* <- cgo_middle_* <- cgo_outer_* <- cgo_block_*). It keeps a
// modest heap, then dumps (truth.json + heapdump) and crashes (or, with
// -live, waits to be gcore'd). See ../README.md.
//
// In crash mode the crash takes about 5 s longer than in the other
// scenarios: the crashing thread waits up to 5 s for the threads blocked in
// C to take their SIGQUIT, which they never do.
package main

/*
#include "cblock.h"
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"syscall"

	"gomortem/corpora/internal/truth"
)

// Item is an element of the modest heap.
type Item struct {
	ID   int
	Name string
	Next *Item
}

var (
	n = flag.Int("n", 2, "goroutines per kind of C block (pause, read, usleep)")

	items   *Item
	pipeFds [2]int
)

func main() {
	flag.Parse()
	truth.SetScenario("cgo")
	truth.SetParam("n", *n)

	for i := 0; i < 200; i++ {
		items = &Item{ID: i, Name: fmt.Sprintf("item-%d", i), Next: items}
	}
	truth.AddObject("items_head", items, map[string]any{"ID": 199, "Name": "item-199", "Next": truth.Ptr(items.Next)})
	truth.AddGlobal("main.items", &items)

	if err := syscall.Pipe(pipeFds[:]); err != nil {
		fmt.Fprintln(os.Stderr, "pipe:", err)
		os.Exit(1)
	}
	for i := 0; i < *n; i++ {
		go C.cgo_block_pause()
		go C.cgo_block_read(C.int(pipeFds[0]))
		go C.cgo_block_sleep()
	}
	if rc := C.cgo_start_cond_thread(); rc != 0 {
		fmt.Fprintln(os.Stderr, "pthread_create:", rc)
		os.Exit(1)
	}
	truth.SetParam("c_threads", 1)

	// A goroutine inside a cgo call has the traceback status "syscall".
	truth.ExpectGoroutines(map[string]int{"syscall": 3 * *n})
	truth.Finish()
}
