// Package truth is the shared harness of the gomortem corpus scenarios.
//
// A scenario program builds a known heap, registers the objects and globals
// it wants to be checked (AddObject, AddGlobal, AddRaw), declares the
// goroutines it parked (ExpectGoroutines) and then calls Finish, which:
//
//  1. runs runtime.GC() and debug.SetGCPercent(-1) (no GC afterwards);
//  2. allocates and drops some garbage (objects allocated after the last GC);
//  3. waits until every goroutine the program created is parked in the
//     expected wait state (checked with runtime.Stack, same strings as the
//     crash traceback);
//  4. writes truth.json (see README.md for the schema) — the memstats part is
//     read and formatted without any heap allocation, right before
//  5. runtime/debug.WriteHeapDump(heapdump);
//  6. crash mode: raises SIGABRT on its own thread (GOTRACEBACK=crash in the
//     environment turns that into a traceback on stderr plus a kernel core);
//     live mode: writes "ready\n" into the pre-created file "ready" and sleeps
//     forever, waiting to be gcore'd and killed.
//
// Nothing allocates on the heap between reading the memstats written to
// truth.json and the crash (or, in live mode, forever): the core, the heap
// dump and truth.json's memstats describe exactly the same heap.
package truth

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

var (
	outDir = flag.String("out", ".", "directory for truth.json, heapdump (and ready in live mode)")
	live   = flag.Bool("live", os.Getenv("GOMORTEM_LIVE") == "1", "live mode: after the dump, wait to be gcore'd instead of crashing (also env GOMORTEM_LIVE=1)")
)

// Live reports whether the program runs in live mode (valid after flag.Parse).
func Live() bool { return *live }

// noHeapDump: Finish writes no heap dump (set by SkipHeapDump).
var noHeapDump bool

// SkipHeapDump makes Finish skip the heap dump (no "heapdump" file, no
// debug.WriteHeapDump): for very large heaps, e.g. the benchmark scenario.
func SkipHeapDump() { noHeapDump = true; t.NoHeapDump = true }

// afterLastGC runs in Finish after the last GC (set by AfterLastGC).
var afterLastGC func()

// atLastGC runs in Finish right after the last GC, before the garbage (set by AtLastGC).
var atLastGC func()

// AtLastGC makes Finish call f right after its last runtime.GC, before it
// allocates its garbage: the heap profile the runtime publishes is then
// that of the last GC (e.g. for pprof.WriteHeapProfile).
func AtLastGC(f func()) { atLastGC = f }

// AfterLastGC makes Finish call f after its last runtime.GC, with the GC
// off: what f allocates is in the core but was never scanned by a GC (e.g.
// objects whose GC mask the runtime builds only when it first scans one).
// f may still register objects and params.
func AfterLastGC(f func()) { afterLastGC = f }

// Object describes one labelled object of the scenario's heap.
type Object struct {
	Label string `json:"label"`
	// Addr is the address of the object's first byte ("0x..." hex). For a
	// Go value reached through a pointer it is that pointer; for a slice it
	// is the first byte of the backing array (&s[0]); for a map / channel it
	// is the runtime header the map/chan value points to (hmap /
	// internal/runtime/maps.Map / hchan). For a "tiny" object (no pointers,
	// < 16 bytes) it is the value's address, which may lie inside a 16-byte
	// tiny block shared with other tiny values.
	Addr string `json:"addr"`
	// Type is fmt's %T of the pointee (e.g. "main.Node", "main.Box[int64]",
	// "[10000]*main.Leaf" for a backing array, "map[string]*main.Leaf" and
	// "chan *main.Leaf" for map / channel headers).
	Type string `json:"type"`
	// Size is unsafe.Sizeof of the pointee (cap*elemsize for a backing
	// array); 0 for map / chan headers (runtime-internal, version-dependent).
	Size uintptr `json:"size"`
	// Kind: "ptr", "array" (slice backing array), "map", "chan".
	Kind string `json:"kind"`
	Len  int    `json:"len,omitempty"`
	Cap  int    `json:"cap,omitempty"`
	Tiny bool   `json:"tiny,omitempty"`
	// Fields holds exact values of some fields (by Go field name) for
	// content tests. Pointers are given as "0x..." hex strings.
	Fields map[string]any `json:"fields,omitempty"`
	Note   string         `json:"note,omitempty"`
}

// Goroutines are the goroutine counts of the program.
type Goroutines struct {
	// Total is runtime.NumGoroutine() (main + the program's goroutines; no
	// runtime system goroutines).
	Total int `json:"total"`
	// Main is the traceback status of goroutine 1 (main) in the core:
	// "running" in crash mode (it raises the signal), "syscall" in live mode
	// (it blocks in a raw read).
	Main string `json:"main"`
	// ByWait counts the goroutines the program created (main excluded), by
	// the status string the traceback prints between brackets (the part
	// before any ", N minutes").
	ByWait map[string]int `json:"by_wait"`
}

// Truth is the content of truth.json (memstats are appended by Finish).
type Truth struct {
	GoVersion  string            `json:"go_version"`
	GOARCH     string            `json:"goarch"`
	GOOS       string            `json:"goos"`
	Pid        int               `json:"pid"`
	Scenario   string            `json:"scenario"`
	Mode       string            `json:"mode"`
	Args       []string          `json:"args"`
	Params     map[string]any    `json:"params,omitempty"`
	Objects    []Object          `json:"objects"`
	Globals    map[string]string `json:"globals"`
	Goroutines Goroutines        `json:"goroutines"`
	Garbage    GarbageInfo       `json:"garbage"`
	// NoHeapDump: the program wrote no heap dump (SkipHeapDump).
	NoHeapDump bool `json:"no_heapdump,omitempty"`
}

// GarbageInfo describes the garbage allocated after the last GC.
type GarbageInfo struct {
	Objects int     `json:"objects"`
	Type    string  `json:"type"`
	Size    uintptr `json:"size"`
}

var t = Truth{Globals: map[string]string{}, Params: map[string]any{}}

// Hex formats an address as "0x...".
func Hex(p uintptr) string { return "0x" + strconv.FormatUint(uint64(p), 16) }

// Ptr formats a pointer as "0x..." (for Fields).
func Ptr[T any](p *T) string { return Hex(uintptr(unsafe.Pointer(p))) }

// OutPath is where the scenario writes a file of its own (next to truth.json).
func OutPath(name string) string { return filepath.Join(*outDir, name) }

// SetScenario names the scenario.
func SetScenario(name string) { t.Scenario = name }

// SetParam records a scenario parameter (e.g. "n").
func SetParam(k string, v any) { t.Params[k] = v }

// AddObject registers the object p points to (p must be a non-nil pointer).
func AddObject(label string, p any, fields map[string]any) {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("truth.AddObject: not a non-nil pointer: " + label)
	}
	t.Objects = append(t.Objects, Object{
		Label: label, Addr: Hex(v.Pointer()), Type: v.Type().Elem().String(),
		Size: v.Type().Elem().Size(), Kind: "ptr", Fields: fields,
	})
}

// AddTiny registers a tiny (no pointers, < 16 bytes) object.
func AddTiny(label string, p any, fields map[string]any) {
	AddObject(label, p, fields)
	t.Objects[len(t.Objects)-1].Tiny = true
}

// AddSlice registers the backing array of slice s (len > 0).
func AddSlice(label string, s any, fields map[string]any) {
	v := reflect.ValueOf(s)
	if v.Kind() != reflect.Slice || v.Cap() == 0 {
		panic("truth.AddSlice: not a non-empty slice: " + label)
	}
	et := v.Type().Elem()
	t.Objects = append(t.Objects, Object{
		Label: label, Addr: Hex(v.Pointer()),
		Type: fmt.Sprintf("[%d]%s", v.Cap(), et.String()),
		Size: uintptr(v.Cap()) * et.Size(), Kind: "array",
		Len: v.Len(), Cap: v.Cap(), Fields: fields,
	})
}

// AddHeader registers the runtime header of a map or channel value.
func AddHeader(label string, m any, fields map[string]any) {
	v := reflect.ValueOf(m)
	kind := ""
	switch v.Kind() {
	case reflect.Map:
		kind = "map"
	case reflect.Chan:
		kind = "chan"
	default:
		panic("truth.AddHeader: not a map or chan: " + label)
	}
	t.Objects = append(t.Objects, Object{
		Label: label, Addr: Hex(v.Pointer()), Type: v.Type().String(),
		Kind: kind, Len: v.Len(), Cap: capOf(v), Fields: fields,
	})
}

func capOf(v reflect.Value) int {
	if v.Kind() == reflect.Chan {
		return v.Cap()
	}
	return 0
}

// AddGlobal registers the address of a package-level variable (p = &global).
func AddGlobal(name string, p any) {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer {
		panic("truth.AddGlobal: not a pointer: " + name)
	}
	t.Globals[name] = Hex(v.Pointer())
}

// ExpectGoroutines declares how many goroutines the program created, by wait
// status. Finish waits until runtime.Stack shows exactly these.
func ExpectGoroutines(byWait map[string]int) { t.Goroutines.ByWait = byWait }

// garbage is a linked list allocated after the last GC and then dropped.
type garbage struct {
	next *garbage
	id   int
	pad  [6]int64
}

// Sink keeps the garbage observable so the compiler cannot drop it.
var Sink *garbage

const garbageCount = 3000

func makeGarbage() {
	var head *garbage
	for i := 0; i < garbageCount; i++ {
		head = &garbage{next: head, id: i}
	}
	Sink = head // store to a global: the allocations cannot be elided
	Sink = nil  // ... and now it is all unreachable
}

// parsedStatuses counts statuses of the goroutines in a runtime.Stack(all)
// dump, excluding the first (the caller).
func parsedStatuses(dump string) (map[string]int, string) {
	counts := map[string]int{}
	self := ""
	first := true
	for _, line := range strings.Split(dump, "\n") {
		if !strings.HasPrefix(line, "goroutine ") || !strings.HasSuffix(line, "]:") {
			continue
		}
		i := strings.LastIndex(line, "[")
		st := line[i+1 : len(line)-2]
		if j := strings.Index(st, ","); j >= 0 {
			st = st[:j]
		}
		// Go 1.27's goroutineleak profile leaves the goroutines it
		// found in the leaked state, printed "chan receive (leaked)".
		st = strings.TrimSuffix(st, " (leaked)")
		if first {
			self, first = st, false
			continue
		}
		counts[st]++
	}
	return counts, self
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func waitParked() {
	want := t.Goroutines.ByWait
	total := 1
	for _, n := range want {
		total += n
	}
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(30 * time.Second)
	stable := 0
	var got map[string]int
	for {
		n := runtime.Stack(buf, true)
		got, _ = parsedStatuses(string(buf[:n]))
		if equalCounts(got, want) && runtime.NumGoroutine() == total {
			stable++
			if stable >= 3 {
				break
			}
		} else {
			stable = 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "truth: goroutines not parked as expected: want %v (total %d), got %v (total %d)\n%s\n",
				want, total, got, runtime.NumGoroutine(), buf[:n])
			os.Exit(3)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Goroutines.Total = runtime.NumGoroutine()
}

func openFile(name string) int {
	fd, err := syscall.Open(filepath.Join(*outDir, name), syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "truth: open %s: %v\n", name, err)
		os.Exit(3)
	}
	return fd
}

func writeAll(fd int, b []byte) {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			os.Exit(4) // no allocation on this path
		}
		b = b[n:]
	}
}

// Memstats are read into these globals (no allocation).
var ms, ms2 runtime.MemStats

type u64field struct {
	name string
	p    *uint64
}

// threadStartedExit: the runtime started a thread between the memstats and
// the crash, so truth.json and the heap dump miss its runtime objects;
// corpora/generate runs the scenario again.
const threadStartedExit = 6

// Finish ends the scenario (see the package comment). It never returns.
func Finish() {
	runtime.LockOSThread() // the SIGABRT is sent to this very thread
	t.GoVersion = runtime.Version()
	t.GOARCH, t.GOOS = runtime.GOARCH, runtime.GOOS
	t.Pid = os.Getpid()
	t.Args = os.Args[1:]
	t.Mode = "crash"
	t.Goroutines.Main = "running"
	if *live {
		t.Mode = "live"
		t.Goroutines.Main = "syscall"
	}
	if t.Goroutines.ByWait == nil {
		t.Goroutines.ByWait = map[string]int{}
	}

	runtime.GC()
	debug.SetGCPercent(-1)
	if atLastGC != nil {
		atLastGC()
	}
	makeGarbage()
	if afterLastGC != nil {
		afterLastGC()
	}
	t.Garbage = GarbageInfo{Objects: garbageCount, Type: "gomortem/corpora/internal/truth.garbage", Size: unsafe.Sizeof(garbage{})}
	waitParked()
	sort.Slice(t.Objects, func(i, j int) bool { return t.Objects[i].Label < t.Objects[j].Label })

	// Everything that allocates happens before the memstats are read.
	truthFd := openFile("truth.json")
	dumpFd := -1
	if !noHeapDump {
		dumpFd = openFile("heapdump")
	}
	readyFd := -1
	if *live {
		readyFd = openFile("ready")
	}
	taskFd, err := syscall.Open("/proc/self/task", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "truth: open /proc/self/task: %v\n", err)
		os.Exit(3)
	}
	tid := syscall.Gettid()
	pid := syscall.Getpid()
	js, err := json.MarshalIndent(&t, "", "  ")
	if err != nil {
		panic(err)
	}
	js = js[:len(js)-2] // drop "\n}"
	buf := make([]byte, 0, len(js)+8192)
	buf = append(buf, js...)
	u64 := []u64field{
		{"Alloc", &ms.Alloc}, {"TotalAlloc", &ms.TotalAlloc}, {"Sys", &ms.Sys},
		{"Lookups", &ms.Lookups}, {"Mallocs", &ms.Mallocs}, {"Frees", &ms.Frees},
		{"HeapAlloc", &ms.HeapAlloc}, {"HeapSys", &ms.HeapSys}, {"HeapIdle", &ms.HeapIdle},
		{"HeapInuse", &ms.HeapInuse}, {"HeapReleased", &ms.HeapReleased}, {"HeapObjects", &ms.HeapObjects},
		{"StackInuse", &ms.StackInuse}, {"StackSys", &ms.StackSys},
		{"MSpanInuse", &ms.MSpanInuse}, {"MSpanSys", &ms.MSpanSys},
		{"MCacheInuse", &ms.MCacheInuse}, {"MCacheSys", &ms.MCacheSys},
		{"BuckHashSys", &ms.BuckHashSys}, {"GCSys", &ms.GCSys}, {"OtherSys", &ms.OtherSys},
		{"NextGC", &ms.NextGC}, {"LastGC", &ms.LastGC}, {"PauseTotalNs", &ms.PauseTotalNs},
	}
	ready := []byte("ready\n")
	var waitPipe [2]int
	var waitBuf [1]byte
	if *live {
		if err := syscall.Pipe(waitPipe[:]); err != nil {
			panic(err)
		}
	}

	// WriteHeapDump keeps a MemStats (about 6 KiB) in its own frame on this
	// goroutine's stack: grown then, the stack would take a new stack span
	// from the heap after the memstats below (StackInuse +32 KiB, HeapIdle
	// -32 KiB in the core, seen on a leaks core). Grown now, it stays (no GC
	// runs again to shrink it).
	growStack(96)

	// ---- no heap allocation from here on ----
	// A thread the runtime starts from here to the crash (an M: its m, g0
	// and stack are heap and stack memory) would be in the core but not in
	// the memstats or the heap dump. Counting allm allocates nothing.
	// The same thread started later, while the crash prints (sysmon
	// starts an M for a timer even while the world is frozen), is in the
	// core only: truth.json lists the threads there are now ("tids"), and
	// corpora/generate runs the scenario again when the core has another.
	ntids := readTids(taskFd)
	syscall.Close(taskFd)
	threads, _ := runtime.ThreadCreateProfile(nil)
	runtime.ReadMemStats(&ms)
	buf = append(buf, ",\n  \"tids\": ["...)
	for i, tid := range tids[:ntids] {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = strconv.AppendInt(buf, int64(tid), 10)
	}
	buf = append(buf, "],\n  \"memstats\": {"...)
	for i, f := range u64 {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n    \""...)
		buf = append(buf, f.name...)
		buf = append(buf, "\": "...)
		buf = strconv.AppendUint(buf, *f.p, 10)
	}
	buf = append(buf, ",\n    \"NumGC\": "...)
	buf = strconv.AppendUint(buf, uint64(ms.NumGC), 10)
	buf = append(buf, ",\n    \"NumForcedGC\": "...)
	buf = strconv.AppendUint(buf, uint64(ms.NumForcedGC), 10)
	buf = append(buf, ",\n    \"GCCPUFraction\": "...)
	buf = strconv.AppendFloat(buf, ms.GCCPUFraction, 'g', -1, 64)
	buf = append(buf, ",\n    \"EnableGC\": "...)
	buf = strconv.AppendBool(buf, ms.EnableGC)
	buf = append(buf, ",\n    \"DebugGC\": "...)
	buf = strconv.AppendBool(buf, ms.DebugGC)
	buf = append(buf, "\n  },\n  \"memstats_stable\": "...)
	runtime.ReadMemStats(&ms2)
	stable := ms2.Mallocs == ms.Mallocs && ms2.Frees == ms.Frees &&
		ms2.TotalAlloc == ms.TotalAlloc && ms2.HeapAlloc == ms.HeapAlloc
	buf = strconv.AppendBool(buf, stable)
	buf = append(buf, "\n}\n"...)
	if cap(buf) != len(js)+8192 {
		os.Exit(5) // the buffer grew: that would have allocated
	}
	writeAll(truthFd, buf)
	syscall.Close(truthFd)

	if dumpFd >= 0 {
		debug.WriteHeapDump(uintptr(dumpFd))
		syscall.Close(dumpFd)
	}

	if !*live {
		if now, _ := runtime.ThreadCreateProfile(nil); now != threads {
			os.Exit(threadStartedExit)
		}
		// A raw syscall: the thread never leaves _Prunning, so sysmon
		// cannot hand its P to a new M while the crash prints (seen
		// under qemu-aarch64, where printing the traceback is slow).
		syscall.RawSyscall(syscall.SYS_TGKILL, uintptr(pid), uintptr(tid), uintptr(syscall.SIGABRT))
		for {
			syscall.Tgkill(pid, tid, syscall.SIGABRT)
			time.Sleep(time.Second)
		}
	}
	writeAll(readyFd, ready)
	syscall.Close(readyFd)
	// Wait in a raw blocking read that nobody answers.  Not time.Sleep: a
	// new timer can grow the P's timer heap, an allocation after the dump
	// (seen as one extra object in gcore'd cores).  A goroutine in a
	// syscall also keeps the deadlock detector quiet.
	for {
		syscall.Read(waitPipe[0], waitBuf[:])
	}
}

// The process's thread ids, read by readTids without allocating.
var (
	tids    [1024]int32
	dirents [8192]byte
)

// readTids lists directory FD (/proc/self/task) into tids and returns how
// many there are: getdents64 records (d_ino, d_off, d_reclen, d_type,
// d_name), every name but "." and ".." a thread id.
func readTids(fd int) int {
	n := 0
	for {
		got, err := syscall.Getdents(fd, dirents[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			os.Exit(3)
		}
		if got <= 0 {
			return n
		}
		for off := 0; off+19 < got; {
			reclen := int(dirents[off+16]) | int(dirents[off+17])<<8
			if reclen == 0 {
				break
			}
			tid, digits := int32(0), 0
			for i := off + 19; i < off+reclen && dirents[i] >= '0' && dirents[i] <= '9'; i++ {
				tid = tid*10 + int32(dirents[i]-'0')
				digits++
			}
			if digits > 0 && n < len(tids) {
				tids[n] = tid
				n++
			}
			off += reclen
		}
	}
}

// growStack uses DEPTH frames of about 1 KiB each, so that the calling
// goroutine's stack is at least that large from then on.
//
//go:noinline
func growStack(depth int) byte {
	var pad [1024]byte
	pad[depth%len(pad)] = byte(depth)
	if depth > 0 {
		return growStack(depth-1) + pad[depth%7]
	}
	return pad[0]
}
