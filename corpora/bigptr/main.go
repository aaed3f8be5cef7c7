// Command bigptr allocates objects of types whose GC pointer mask the
// runtime builds only on demand (abi.TFlagGCMaskOnDemand, Go 1.24+: more
// than abi.MaxPtrmaskBytes*8 pointer words, 128 in 1.27, 16384 in
// 1.24-1.26) after the last GC, and crashes without a heap dump (which
// would build every mask as a side effect). The masks' slots in .noptrbss
// are still 0 in the core: a reader must build them from the types.
//
// truth.json's params.bigptr lists every such object with the leaf each
// pointer word points to. See ../README.md.
package main

import (
	"flag"

	"gomortem/corpora/internal/truth"
)

// Leaf is what the big objects point to: 16 bytes without pointers (not
// tiny), reachable only through the big objects.
type Leaf struct {
	ID  int64
	Seq int64
}

// Big has 200 pointer words: an on-demand mask from Go 1.27 on (1600 bytes,
// a small object with a malloc header).
type Big struct {
	P [200]*Leaf
}

// Huge has 20000 pointer words: an on-demand mask from Go 1.24 on (160000
// bytes, a large object typed by its span's largeType).
type Huge struct {
	Tag  int64
	P    [20000]*Leaf
	Last *Leaf
}

const (
	nbig  = 50
	nhuge = 2
)

var (
	bigs  []*Big
	huges []*Huge
	seq   int64
)

// ExpectedObject is one big object of params.bigptr: its address, %T, and
// the address each of its pointer words holds, the words consecutive from
// byte offset First of the object.
type ExpectedObject struct {
	Addr     string   `json:"addr"`
	Type     string   `json:"type"`
	First    int      `json:"first"`
	Pointers []string `json:"pointers"`
}

func leaf(id int64) *Leaf {
	seq++
	return &Leaf{ID: id, Seq: seq}
}

// allocate runs after Finish's last GC, with the GC off.
func allocate() {
	var want []ExpectedObject
	bigs = make([]*Big, nbig)
	for i := range bigs {
		b := new(Big)
		e := ExpectedObject{Addr: truth.Ptr(b), Type: "main.Big", First: 0}
		for k := range b.P {
			b.P[k] = leaf(int64(i))
			e.Pointers = append(e.Pointers, truth.Ptr(b.P[k]))
		}
		bigs[i] = b
		want = append(want, e)
	}
	huges = make([]*Huge, nhuge)
	for i := range huges {
		h := &Huge{Tag: int64(i)}
		e := ExpectedObject{Addr: truth.Ptr(h), Type: "main.Huge", First: 8}
		for k := range h.P {
			h.P[k] = leaf(int64(1000 + i))
			e.Pointers = append(e.Pointers, truth.Ptr(h.P[k]))
		}
		h.Last = leaf(int64(2000 + i))
		e.Pointers = append(e.Pointers, truth.Ptr(h.Last))
		huges[i] = h
		want = append(want, e)
	}
	truth.SetParam("bigptr", want)
	truth.SetParam("leaves", seq)
	truth.AddObject("big_0", bigs[0], map[string]any{"P.0": truth.Ptr(bigs[0].P[0])})
	truth.AddObject("huge_0", huges[0], map[string]any{"Tag": 0})
	truth.AddSlice("bigs", bigs, nil)
}

func main() {
	flag.Parse()
	truth.SetScenario("bigptr")
	truth.SetParam("big", nbig)
	truth.SetParam("huge", nhuge)
	truth.AddGlobal("main.bigs", &bigs)
	truth.AddGlobal("main.huges", &huges)
	truth.SkipHeapDump()
	truth.AfterLastGC(allocate)
	truth.Finish()
}
