// Command zoo builds a known heap of many shapes of Go objects, kept alive by
// package-level globals, then dumps it (truth.json + heapdump) and crashes
// (or, with -live, waits to be gcore'd). See ../README.md.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"gomortem/corpora/internal/truth"
)

// Leaf is the common pointee of many containers below.
type Leaf struct {
	ID   int
	Name string
	Data [4]int64
}

// Node is an element of a singly linked list.
type Node struct {
	Value int
	Next  *Node
	Leaf  *Leaf
}

// TreeNode is a node of a complete binary tree.
type TreeNode struct {
	Key         int
	Left, Right *TreeNode
}

// Box is a generic container (instantiated with int64 and *Leaf).
type Box[T any] struct {
	V     T
	Label string
	Next  *Box[T]
}

// Medium carries pointers and is between 512 bytes and 32 KiB (816 bytes).
type Medium struct {
	Leaves [100]*Leaf
	Tag    string
}

// Shape is a custom interface with several concrete implementations.
type Shape interface{ Area() float64 }

type Circle struct{ R float64 }
type Rect struct{ W, H float64 }
type Named struct {
	Name string
	Leaf *Leaf
}

func (c Circle) Area() float64 { return 3 * c.R * c.R }
func (r *Rect) Area() float64  { return r.W * r.H }
func (n Named) Area() float64  { return float64(len(n.Name)) }
func (l *Leaf) Area() float64  { return float64(l.ID) }

const (
	listLen   = 100
	treeDepth = 7 // 127 nodes
	mapLen    = 100
	intMapLen = 1000
	bigLen    = 10000
	tinyCount = 1000
	chanCap   = 16
	chanQueue = 5
)

// The globals keeping the heap alive.
var (
	listHead   *Node
	treeRoot   *TreeNode
	leafMap    map[string]*Leaf
	intMap     map[int]int
	leafPtrs   []*Leaf // slice of pointers, 50 elems
	bigSlice   []*Leaf // > 32 KiB backing array (10000 pointers)
	mediums    []*Medium
	shapes     []Shape
	anys       []any
	boxInt     *Box[int64]
	boxLeaf    *Box[*Leaf]
	funcs      []func() int
	dups       []string // 40 heap copies of one 30-byte string: duplicate_strings finds them
	tinyInts   []*int32
	tinyBytes  []*[3]byte
	leafChan   chan *Leaf
	finalized  *Leaf
	greeting   string
	words      []string
	finalizerN int
)

func newLeaf(id int) *Leaf {
	return &Leaf{ID: id, Name: fmt.Sprintf("leaf-%d", id), Data: [4]int64{int64(id), int64(id) * 2, -1, 7}}
}

func buildTree(depth, key int) *TreeNode {
	if depth == 0 {
		return nil
	}
	return &TreeNode{Key: key, Left: buildTree(depth-1, 2*key), Right: buildTree(depth-1, 2*key+1)}
}

func counter(start int) func() int {
	n := start // captured by reference (modified): heap-allocated
	return func() int { n++; return n }
}

func main() {
	flag.Parse()
	truth.SetScenario("zoo")

	// Linked list: head.Value = 0, next values 1, 2, ...
	for i := listLen - 1; i >= 0; i-- {
		listHead = &Node{Value: i, Next: listHead, Leaf: newLeaf(1000 + i)}
	}
	truth.AddObject("list_head", listHead, map[string]any{
		"Value": listHead.Value, "Next": truth.Ptr(listHead.Next), "Leaf": truth.Ptr(listHead.Leaf)})
	truth.AddObject("list_head_leaf", listHead.Leaf, map[string]any{
		"ID": listHead.Leaf.ID, "Name": listHead.Leaf.Name, "Data": listHead.Leaf.Data})
	truth.AddGlobal("main.listHead", &listHead)

	treeRoot = buildTree(treeDepth, 1)
	truth.AddObject("tree_root", treeRoot, map[string]any{
		"Key": treeRoot.Key, "Left": truth.Ptr(treeRoot.Left), "Right": truth.Ptr(treeRoot.Right)})
	truth.AddGlobal("main.treeRoot", &treeRoot)

	leafMap = make(map[string]*Leaf)
	for i := 0; i < mapLen; i++ {
		leafMap[fmt.Sprintf("key-%d", i)] = newLeaf(2000 + i)
	}
	truth.AddHeader("leaf_map", leafMap, nil)
	truth.AddObject("leaf_map_key_1", leafMap["key-1"], map[string]any{"ID": 2001, "Name": "leaf-2001"})
	truth.AddGlobal("main.leafMap", &leafMap)

	intMap = make(map[int]int)
	for i := 0; i < intMapLen; i++ {
		intMap[i] = i * i
	}
	truth.AddHeader("int_map", intMap, nil)
	truth.AddGlobal("main.intMap", &intMap)

	for i := 0; i < 50; i++ {
		leafPtrs = append(leafPtrs, newLeaf(3000+i))
	}
	truth.AddSlice("leaf_ptrs_array", leafPtrs, nil)
	truth.AddGlobal("main.leafPtrs", &leafPtrs)

	bigSlice = make([]*Leaf, bigLen)
	for i := range bigSlice {
		if i%10 == 0 {
			bigSlice[i] = newLeaf(10000 + i)
		} else {
			bigSlice[i] = leafPtrs[i%len(leafPtrs)]
		}
	}
	truth.AddSlice("big_slice_array", bigSlice, map[string]any{"0": truth.Ptr(bigSlice[0])})
	truth.AddObject("big_slice_0", bigSlice[0], map[string]any{"ID": 10000, "Name": "leaf-10000"})
	truth.AddGlobal("main.bigSlice", &bigSlice)

	for i := 0; i < 4; i++ {
		m := &Medium{Tag: fmt.Sprintf("medium-%d", i)}
		for j := range m.Leaves {
			if j%3 == 0 {
				m.Leaves[j] = newLeaf(20000 + 100*i + j)
			}
		}
		mediums = append(mediums, m)
	}
	truth.AddObject("medium_0", mediums[0], map[string]any{"Tag": "medium-0", "Leaves[0]": truth.Ptr(mediums[0].Leaves[0])})
	truth.AddGlobal("main.mediums", &mediums)

	named := Named{Name: "named-shape", Leaf: newLeaf(4000)}
	shapes = []Shape{Circle{R: 1.5}, &Rect{W: 2, H: 3}, named, newLeaf(4001)}
	anys = []any{int64(123456789), "an interface string", newLeaf(4002), Circle{R: 2.5}, 3.25, []int{1, 2, 3}, map[string]int{"a": 1}, named}
	truth.AddSlice("shapes_array", shapes, nil)
	truth.AddSlice("anys_array", anys, nil)
	truth.AddGlobal("main.shapes", &shapes)
	truth.AddGlobal("main.anys", &anys)

	boxInt = &Box[int64]{V: 42, Label: "box-int64", Next: &Box[int64]{V: 43, Label: "box-int64-2"}}
	boxLeaf = &Box[*Leaf]{V: newLeaf(5000), Label: "box-leaf"}
	truth.AddObject("box_int64", boxInt, map[string]any{"V": 42, "Label": "box-int64", "Next": truth.Ptr(boxInt.Next)})
	truth.AddObject("box_leaf", boxLeaf, map[string]any{"V": truth.Ptr(boxLeaf.V), "Label": "box-leaf"})
	truth.AddGlobal("main.boxInt", &boxInt)
	truth.AddGlobal("main.boxLeaf", &boxLeaf)

	captured := newLeaf(6000)
	prefix := strings.Repeat("p", 40)
	funcs = []func() int{
		counter(10),
		counter(20),
		func() int { return captured.ID + len(prefix) },
	}
	truth.AddSlice("funcs_array", funcs, nil)
	truth.AddGlobal("main.funcs", &funcs)

	for i := 0; i < tinyCount; i++ {
		p := new(int32)
		*p = int32(i)
		tinyInts = append(tinyInts, p)
		b := new([3]byte)
		b[0], b[1], b[2] = byte(i), byte(i>>8), 0xAB
		tinyBytes = append(tinyBytes, b)
	}
	truth.AddTiny("tiny_int32_7", tinyInts[7], map[string]any{"value": 7})
	truth.AddGlobal("main.tinyInts", &tinyInts)
	truth.AddGlobal("main.tinyBytes", &tinyBytes)

	leafChan = make(chan *Leaf, chanCap)
	for i := 0; i < chanQueue; i++ {
		leafChan <- newLeaf(7000 + i)
	}
	truth.AddHeader("leaf_chan", leafChan, nil)
	truth.AddGlobal("main.leafChan", &leafChan)

	finalized = newLeaf(8000)
	runtime.SetFinalizer(finalized, func(l *Leaf) { finalizerN++ })
	truth.AddObject("finalized", finalized, map[string]any{"ID": 8000, "Name": "leaf-8000"})
	truth.AddGlobal("main.finalized", &finalized)

	greeting = strings.Repeat("hello, gomortem! ", 4) // 68 bytes on the heap
	words = strings.Fields("alpha beta gamma delta epsilon")
	truth.AddObject("greeting_bytes", (*[68]byte)(unsafe.Pointer(unsafe.StringData(greeting))), map[string]any{"string": greeting})
	truth.AddGlobal("main.greeting", &greeting)
	truth.AddGlobal("main.words", &words)

	for i := 0; i < 40; i++ {
		dups = append(dups, strings.Repeat("duplicate-", 3)) // a new heap copy each time
	}
	truth.SetParam("duplicates", map[string]any{"value": dups[0], "copies": len(dups)})
	truth.AddGlobal("main.dups", &dups)

	truth.Finish()
}
