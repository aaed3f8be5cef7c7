// Command bigheap builds a large heap of about -objects N heap objects
// (records pointing at each other, a binary tree over them, a
// map[string]*Record, slices of pointers, strings and tiny objects), then
// writes truth.json (whose memstats.HeapObjects is the real object count) and
// crashes (or, with -live, waits to be gcore'd). It is the input of the
// benchmark tests/bench/bench.sh, not of the default corpus. With
// -no-heapdump no runtime heap dump is written (at 20M objects it would take
// minutes and gigabytes). See docs/benchmarks.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"

	"gomortem/corpora/internal/truth"
)

// Record is the main object: one per "unit" of the heap.
type Record struct {
	ID    int64
	Name  string // "record-000000000042": 19 bytes, its own (24-byte) object
	Score float64
	Next  *Record  // the next record (a chain through all of them)
	Peer  *Record  // a pseudo-random earlier record
	Tags  []string // every 4th record: a 2-element backing array
	Count *Counter // a tiny object (8 bytes, no pointers)
	Flags *[3]byte // another tiny object
}

// Counter is a tiny (8-byte, pointer-free) object.
type Counter struct{ N int64 }

// TreeNode is a node of a balanced binary tree over the records.
type TreeNode struct {
	Key         int64
	Left, Right *TreeNode
	Rec         *Record
}

const chunkLen = 64 // pointers per []*Record chunk (512-byte backing arrays)

// Estimated heap objects per record: the Record, its Name, its TreeNode,
// 1/4 Tags array, two tiny allocations (8 + 3 bytes: usually one shared
// 16-byte tiny block, sometimes two), 1/64 chunk, map groups (amortized).
const perRecord = 4.75

// The globals keeping the heap alive.
var (
	records  map[string]*Record
	chain    *Record
	tree     *TreeNode
	chunks   [][]*Record
	tagWords = []string{"alpha", "beta", "gamma", "delta"}
)

func buildTree(recs []*Record) *TreeNode {
	if len(recs) == 0 {
		return nil
	}
	mid := len(recs) / 2
	return &TreeNode{Key: recs[mid].ID, Rec: recs[mid],
		Left: buildTree(recs[:mid]), Right: buildTree(recs[mid+1:])}
}

func main() {
	objects := flag.Int("objects", 1000000, "approximate number of heap objects to build")
	noDump := flag.Bool("no-heapdump", false, "do not write the runtime heap dump (heapdump)")
	flag.Parse()
	if *objects < 1000 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: bigheap [-out DIR] [-live] [-objects N (>= 1000)] [-no-heapdump]")
		os.Exit(2)
	}
	if *noDump {
		truth.SkipHeapDump()
	}
	truth.SetScenario("bigheap")
	truth.SetParam("objects", *objects)
	truth.SetParam("heapdump", !*noDump)

	// Build with a lazy GC: the heap only grows, collections are wasted work.
	debug.SetGCPercent(400)

	n := int(float64(*objects) / perRecord)
	truth.SetParam("records", n)
	all := make([]*Record, n) // temporary index; dropped before Finish
	records = make(map[string]*Record, n)
	var seed uint64 = 0x9e3779b97f4a7c15
	for i := 0; i < n; i++ {
		r := &Record{
			ID:    int64(i),
			Name:  "record-" + fmt.Sprintf("%012d", i),
			Score: float64(i) * 0.5,
			Count: &Counter{N: int64(i)},
			Flags: &[3]byte{byte(i), byte(i >> 8), byte(i >> 16)},
		}
		if i%4 == 0 {
			r.Tags = []string{tagWords[i%len(tagWords)], r.Name}
		}
		if i > 0 {
			all[i-1].Next = r
			seed = seed*6364136223846793005 + 1442695040888963407
			r.Peer = all[int((seed>>33)%uint64(i))]
		}
		all[i] = r
		records[r.Name] = r
	}
	chain = all[0]
	tree = buildTree(all)
	for i := 0; i < n; i += chunkLen {
		c := make([]*Record, 0, chunkLen)
		for j := i; j < i+chunkLen && j < n; j++ {
			c = append(c, all[j])
		}
		chunks = append(chunks, c)
	}

	first := all[0]
	truth.AddHeader("records", records, map[string]any{"len": n})
	truth.AddObject("record_0", first, map[string]any{
		"ID": 0, "Name": first.Name, "Next": truth.Ptr(first.Next)})
	truth.AddObject("tree_root", tree, map[string]any{
		"Key": tree.Key, "Rec": truth.Ptr(tree.Rec)})
	truth.AddSlice("chunks_array", chunks, nil)
	truth.AddGlobal("main.records", &records)
	truth.AddGlobal("main.chain", &chain)
	truth.AddGlobal("main.tree", &tree)
	truth.AddGlobal("main.chunks", &chunks)
	all = nil

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Println("bigheap: records " + strconv.Itoa(n) + ", heap objects after GC " +
		strconv.FormatUint(ms.HeapObjects, 10) + ", heap alloc " +
		strconv.FormatUint(ms.HeapAlloc>>20, 10) + " MiB")
	truth.Finish()
}
