// Command growmap builds a global map[string]*Record with n entries (first
// argument, default 1000), then dumps (truth.json + heapdump) and crashes
// (or, with -live, waits to be gcore'd). Two cores of it at different n are
// used to test heap diffs. See ../README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"gomortem/corpora/internal/truth"
)

// Record is the map's value type.
type Record struct {
	ID     int64
	Key    string
	Score  float64
	Tags   []string
	Parent *Record
}

var records map[string]*Record

func main() {
	flag.Parse()
	n := 1000
	if flag.NArg() > 0 {
		v, err := strconv.Atoi(flag.Arg(0))
		if err != nil || v < 1 {
			fmt.Fprintln(os.Stderr, "usage: growmap [-out DIR] [-live] [n]")
			os.Exit(2)
		}
		n = v
	}
	truth.SetScenario("growmap")
	truth.SetParam("n", n)

	records = make(map[string]*Record)
	var prev *Record
	for i := 0; i < n; i++ {
		r := &Record{ID: int64(i), Key: fmt.Sprintf("rec-%06d", i), Score: float64(i) / 2, Parent: prev}
		if i%10 == 0 {
			r.Tags = []string{"tenth", r.Key}
		}
		records[r.Key] = r
		prev = r
	}
	truth.AddHeader("records", records, map[string]any{"len": n})
	first := records["rec-000000"]
	truth.AddObject("rec_000000", first, map[string]any{"ID": 0, "Key": "rec-000000", "Score": 0.0, "Tags": []string{"tenth", "rec-000000"}})
	r1 := records["rec-000001"]
	truth.AddObject("rec_000001", r1, map[string]any{"ID": 1, "Key": "rec-000001", "Score": 0.5, "Parent": truth.Ptr(first)})
	truth.AddGlobal("main.records", &records)
	// The leak suspect's truth: what the map accumulates, exactly (Record is
	// 64 bytes, a size class).
	truth.SetParam("accumulated", map[string]any{
		"root": "main.records", "collection": "map[string]*main.Record",
		"type": "main.Record", "count": n, "bytes": n * int(unsafe.Sizeof(Record{})),
	})
	truth.Finish()
}
