// Command leak grows its heap until something stops it: every session it
// makes stays reachable from the global main.latest through the Prev chain
// (the leak), while request buffers come and go as garbage. It is the input
// of the gomortem watch test (tests/acquire/test_watch.py), which runs it in
// a memory cgroup with a small limit where the kernel's OOM killer ends it
// unless gomortem watch captures it first. Not in the default corpus.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

// Session is what leaks: about 4 KiB each, all of it written so that the
// pages are really used.
type Session struct {
	ID      int64
	User    string
	Payload [4000]byte
	Prev    *Session
}

var (
	latest  *Session // the leak: every session ever made, newest first
	scratch [][]byte // request buffers: recycled, garbage once replaced
)

func main() {
	rate := flag.Int("rate", 40, "MB of sessions leaked per second")
	flag.Parse()
	fmt.Fprintf(os.Stderr, "leak: pid %d, %d MB/s\n", os.Getpid(), *rate)
	perTick := *rate * (1 << 20) / 4096 / 100 // sessions per 10 ms
	scratch = make([][]byte, 64)
	for id := int64(0); ; {
		for i := 0; i < perTick; i++ {
			s := &Session{ID: id, User: fmt.Sprintf("user-%d", id%1000), Prev: latest}
			for j := range s.Payload {
				s.Payload[j] = byte(id) + byte(j)
			}
			latest = s
			scratch[id%64] = make([]byte, 1024)
			id++
		}
		time.Sleep(10 * time.Millisecond)
	}
}
