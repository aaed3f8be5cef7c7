// Command allocs allocates from known functions with the runtime's memory
// profiler on, for gomortem's allocation sites (the runtime's memory-profile
// buckets and the profile specials of sampled objects):
//
//   - main.makeAlpha keeps alpha main.Alpha (48 bytes, with pointers), and
//     main.makeBeta keeps beta main.Beta (2048 bytes, pointer-free): sizes
//     that are size classes, so a slot is the object;
//   - main.churn allocates churn main.Beta and drops them (freed by the GCs);
//   - runtime.GC() in main, then Finish's GC: two GCs, after which
//     pprof.WriteHeapProfile writes heap.pb.gz (the profile the process
//     serves at /debug/pprof/heap), before Finish's garbage;
//   - after the last GC, main.burst keeps burst main.Burst (4096 bytes,
//     pointer-free): allocations the runtime's published profile misses.
//
// -rate R sets runtime.MemProfileRate first thing (1 = every allocation is
// sampled); the default leaves the runtime's 512 KiB.  truth.json
// params.alloc_sites lists, per allocating function, the live objects it
// left (type, count, bytes); params.heap_profile names the runtime's file.
// See ../README.md.
package main

import (
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
	"unsafe"

	"gomortem/corpora/internal/truth"
)

type Alpha struct {
	Next       *Alpha
	A, B, C, D int64
	E          int64
}

type Beta struct {
	Data [2048]byte
}

type Burst struct {
	Data [4096]byte
}

var (
	alphas  []*Alpha
	betas   []*Beta
	bursts  []*Burst
	sink    *Beta
	nalpha  = 100000
	nbeta   = 2000
	nchurn  = 4000
	nburst  = 2048
	profile = "heap.pb.gz"
)

//go:noinline
func makeAlpha(i int, prev *Alpha) *Alpha {
	return &Alpha{Next: prev, A: int64(i)}
}

//go:noinline
func makeBeta(i int) *Beta {
	b := new(Beta)
	b.Data[0] = byte(i)
	return b
}

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = new(Beta)
		sink.Data[1] = byte(i)
	}
	sink = nil
}

//go:noinline
func burst() {
	for i := range bursts {
		b := new(Burst)
		b.Data[0] = byte(i)
		bursts[i] = b
	}
}

type site struct {
	Function string `json:"function"`
	Type     string `json:"type"`
	Count    int    `json:"count"`
	Bytes    int    `json:"bytes"`
}

// writeProfile runs right after the last GC: the runtime's own heap profile.
func writeProfile() {
	f, err := os.Create(truth.OutPath(profile))
	if err == nil {
		err = pprof.WriteHeapProfile(f)
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		panic(err)
	}
}

func main() {
	rate := flag.Int("rate", 0, "runtime.MemProfileRate (0: the runtime's default)")
	flag.Parse()
	if *rate > 0 {
		runtime.MemProfileRate = *rate
		nalpha, nbeta, nchurn, nburst = 3000, 300, 1000, 500
	}
	truth.SetScenario("allocs")
	truth.SetParam("mem_profile_rate", runtime.MemProfileRate)
	truth.SetParam("heap_profile", profile)
	alphas = make([]*Alpha, nalpha)
	var prev *Alpha
	for i := range alphas {
		prev = makeAlpha(i, prev)
		alphas[i] = prev
	}
	betas = make([]*Beta, nbeta)
	for i := range betas {
		betas[i] = makeBeta(i)
	}
	churn(nchurn)
	bursts = make([]*Burst, nburst)
	runtime.GC()
	truth.SetParam("alloc_sites", []site{
		{"main.makeAlpha", "main.Alpha", nalpha, nalpha * int(unsafe.Sizeof(Alpha{}))},
		{"main.makeBeta", "main.Beta", nbeta, nbeta * int(unsafe.Sizeof(Beta{}))},
		{"main.burst", "main.Burst", nburst, nburst * int(unsafe.Sizeof(Burst{}))},
	})
	truth.SetParam("after_last_gc", "main.burst")
	truth.AddGlobal("main.alphas", &alphas)
	truth.AddGlobal("main.betas", &betas)
	truth.AddGlobal("main.bursts", &bursts)
	truth.AtLastGC(writeProfile)
	truth.AfterLastGC(burst)
	truth.Finish()
}
