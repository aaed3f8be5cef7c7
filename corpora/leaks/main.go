// Command leaks holds three leaks whose truth is known, then dumps
// (truth.json + heapdump) and crashes (or, with -live, waits to be gcore'd):
//
//   - main.index: a B-tree whose nodes and child arrays alternate
//     (*main.BNode -> *[8]*main.BNode -> *main.BNode ...), the chain of
//     alternating types that retained-by-type must count once;
//   - a session cache held by two globals at once (main.primary and
//     main.replica point to the same *main.Cache): memory that no single
//     root dominates, whose map accumulates main.Session;
//   - events held twice, by the slice main.events and by the list
//     main.latest (each event points to the one before): many small
//     objects that no single root holds, a group of main.Event;
//   - leaked goroutines: workers blocked on a channel, in a select, and on a
//     sync.Mutex that only they reference (startWorkers returned without
//     keeping them, the mutex locked), next to one goroutine blocked on a
//     global channel that is not leaked.
//
// See ../README.md.
package main

import (
	"bytes"
	"flag"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"gomortem/corpora/internal/truth"
)

// BNode is a B-tree node (64 bytes, a size class: bytes = count * 64).
type BNode struct {
	Keys     [6]int64
	N        int64
	Children *[8]*BNode
}

// Session is what the shared cache accumulates (96 bytes, a size class).
type Session struct {
	ID      int64
	User    string
	Expires int64
	Payload [64]byte
}

// Event is held by a slice and by a list at once (64 bytes, a size class).
type Event struct {
	Seq  int64
	Prev *Event
	Data [48]byte
}

// Cache is a session cache; two globals point to the same one.
type Cache struct {
	Name     string
	Sessions map[int64]*Session
}

var (
	depth    = flag.Int("depth", 6, "B-tree levels (fanout 8)")
	sessions = flag.Int("sessions", 20000, "sessions in the shared cache")
	workers  = flag.Int("workers", 3, "leaked goroutines per kind (chan receive, select, sync.Mutex.Lock)")
	nevents  = flag.Int("events", 30000, "events held by both main.events and main.latest")

	index   *BNode
	primary *Cache
	replica *Cache
	events  []*Event
	latest  *Event
	wakeup  = make(chan int) // reachable from a global: its receiver is not leaked
	nodes   int
	arrays  int
)

// build makes a subtree of the given height; it counts nodes and arrays.
func build(height int, key *int64) *BNode {
	n := &BNode{N: 6}
	nodes++
	for i := range n.Keys {
		n.Keys[i] = *key
		*key++
	}
	if height > 1 {
		n.Children = new([8]*BNode)
		arrays++
		for i := range n.Children {
			n.Children[i] = build(height-1, key)
		}
	}
	return n
}

func receiver(jobs chan *Session) {
	for s := range jobs {
		_ = s
	}
}

func selector(a chan int, b chan string) {
	select {
	case <-a:
	case <-b:
	}
}

// Guard is a mutex with an owner: an object of its own (a bare sync.Mutex
// has no pointers, so it would share a 16-byte tiny block with other values,
// which keep the whole block, and so the mutex, reachable).
type Guard struct {
	mu    sync.Mutex
	owner *Session
}

func locker(g *Guard) {
	g.mu.Lock()
	g.mu.Unlock()
}

func waiter() { <-wakeup }

// startWorkers starts goroutines on channels that nobody else keeps: once it
// returns they can never wake up.
func startWorkers(k int) {
	jobs := make(chan *Session)
	a, b := make(chan int), make(chan string)
	guard := &Guard{owner: &Session{ID: -1}}
	guard.mu.Lock()
	for i := 0; i < k; i++ {
		go receiver(jobs)
		go selector(a, b)
		go locker(guard)
	}
}

// writeLeakProfile writes the runtime's own goroutineleak profile (Go 1.27+;
// before, pprof has no such profile and nothing is written) to
// goroutineleak.txt, once it counts WANT leaked goroutines (the workers may
// still be on their way to block) or after 10 s.  Each write runs a GC
// with leak detection, which leaves the goroutines it finds _Gleaked.
func writeLeakProfile(want int) {
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		return
	}
	header := "goroutineleak profile: total " + strconv.Itoa(want) + "\n"
	var buf bytes.Buffer
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		buf.Reset()
		if err := p.WriteTo(&buf, 1); err == nil && strings.HasPrefix(buf.String(), header) {
			break
		}
	}
	os.WriteFile(truth.OutPath("goroutineleak.txt"), buf.Bytes(), 0o644)
}

func main() {
	flag.Parse()
	truth.SetScenario("leaks")

	var key int64
	index = build(*depth, &key)
	truth.AddObject("index", index, map[string]any{"N": 6})
	truth.AddGlobal("main.index", &index)

	c := &Cache{Name: "sessions", Sessions: make(map[int64]*Session)}
	for i := 0; i < *sessions; i++ {
		s := &Session{ID: int64(i), Expires: int64(i) * 60}
		c.Sessions[s.ID] = s
	}
	primary, replica = c, c
	truth.AddObject("cache", c, map[string]any{"Name": "sessions"})
	truth.AddHeader("cache_sessions", c.Sessions, map[string]any{"len": *sessions})
	truth.AddGlobal("main.primary", &primary)
	truth.AddGlobal("main.replica", &replica)

	events = make([]*Event, 0, *nevents)
	for i := 0; i < *nevents; i++ {
		latest = &Event{Seq: int64(i), Prev: latest}
		events = append(events, latest)
	}
	truth.AddGlobal("main.events", &events)
	truth.AddGlobal("main.latest", &latest)

	startWorkers(*workers)
	go waiter()
	// Only when asked (tests/goroutines/test_goroutineleak_profile.py): the
	// leak GC leaves the goroutines _Gleaked, and Go 1.27's WriteHeapDump
	// then throws "dumpgs in STW - bad status" half way through the dump.
	if os.Getenv("GOMORTEM_LEAK_PROFILE") != "" {
		writeLeakProfile(3 * *workers)
	}
	truth.ExpectGoroutines(map[string]int{"chan receive": *workers + 1, "select": *workers,
		"sync.Mutex.Lock": *workers})

	// The leak suspects' truth: what each structure accumulates, exactly.
	truth.SetParam("btree", map[string]any{
		"root": "main.index", "type": "main.BNode", "count": nodes,
		"bytes":  nodes * int(unsafe.Sizeof(BNode{})),
		"arrays": arrays, "array_type": "[8]*main.BNode",
		"array_bytes": arrays * int(unsafe.Sizeof([8]*BNode{})),
	})
	truth.SetParam("shared", map[string]any{
		"roots": []string{"main.primary", "main.replica"}, "collection": "map[int64]*main.Session",
		"type": "main.Session", "count": *sessions,
		"bytes": *sessions * int(unsafe.Sizeof(Session{})),
	})
	// Every goroutine startWorkers created is leaked; the sync ones wait
	// on a mutex, which the runtime records in g.waiting from Go 1.26 on.
	truth.SetParam("jointly", map[string]any{
		"roots": []string{"main.events", "main.latest"}, "type": "main.Event", "count": *nevents,
		"bytes": *nevents * int(unsafe.Sizeof(Event{})),
	})
	truth.SetParam("leaked_goroutines", map[string]any{
		"created_by": "main.startWorkers", "count": 3 * *workers,
		"by_function": map[string]int{"main.receiver": *workers, "main.selector": *workers,
			"main.locker": *workers},
		"on_sync": *workers,
		// Heap objects only they keep alive: the three channels, the
		// Guard and its owner Session.
		"only_objects": 5,
	})
	truth.Finish()
}
