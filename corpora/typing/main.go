// Command typing builds one small object graph per type-inference rule of
// gomortem: each labelled object is reachable through exactly one kind of
// evidence (a struct field, a slice, an interface's type word, an itab, a
// map's slots, a channel's buffer, a sync.Map, a sync.Pool, an atomic.Pointer,
// a goroutine's local, ...) and has a type of its own, named after the rule,
// so that a wrong or missing type names the rule that failed. truth.json
// records each object's address and %T; tests/graph/test_types checks them.
// See ../README.md.
package main

import (
	"flag"
	"sync"
	"sync/atomic"

	"gomortem/corpora/internal/truth"
)

// One type per rule; the payload makes each bigger than a tiny object.
type ViaField struct{ A, B int64 }
type ViaArrayField struct{ A, B int64 }
type ViaSliceElem struct{ A, B int64 }
type ViaStructSliceElem struct{ A, B int64 }
type ViaEface struct{ A, B int64 }
type ViaEfaceValue struct {
	A int64
	P *ViaEfaceValuePtr
}
type ViaEfaceValuePtr struct{ A, B int64 }
type ViaItab struct{ A, B int64 }
type ViaMapValue struct{ A, B int64 }
type ViaMapKey struct{ A, B int64 }
type ViaMapIndirect struct {
	Pad [40]int64 // 320 bytes > the 128 a map slot holds inline: stored as a pointer
	P   *ViaMapIndirectPtr
}
type ViaMapIndirectPtr struct{ A, B int64 }
type ViaNestedMap struct{ A, B int64 }
type ViaChan struct{ A, B int64 }
type ViaChanStruct struct{ A, B int64 }
type ViaSyncMap struct{ A, B int64 }
type ViaPool struct{ A, B int64 }
type ViaAtomic struct{ A, B int64 }
type ViaStack struct{ A, B int64 }
type ViaPtrPtr struct{ A, B int64 }
type ViaMethodValue struct{ A, B int64 }
type ViaMethodValueStruct struct {
	A int64
	P *ViaMethodValueTarget
}
type ViaMethodValueTarget struct{ A, B int64 }

// Methods taken as values: the closure holds the receiver (a pointer, or
// the struct itself) after its code pointer.
func (v *ViaMethodValue) Get() int64      { return v.A }
func (v ViaMethodValueStruct) Get() int64 { return v.P.A }

func (v *ViaItab) Kind() string { return "itab" }

// Kinder is implemented by *ViaItab only; its itab types the data word.
type Kinder interface{ Kind() string }

// Holder's fields are each one rule.
type Holder struct {
	Field       *ViaField
	Array       [3]*ViaArrayField
	Slice       []*ViaSliceElem
	Pairs       []Pair
	Eface       any
	Value       any
	Itab        Kinder
	PtrPtr      **ViaPtrPtr
	Method      func() int64
	ValueMethod func() int64
}

// Pair is the element of a slice of structs.
type Pair struct {
	Key string
	Val *ViaStructSliceElem
}

var (
	holder     *Holder
	values     map[int]*ViaMapValue
	keys       map[*ViaMapKey]int
	indirect   map[int]ViaMapIndirect
	nested     map[string]map[int]*ViaNestedMap
	ptrChan    chan *ViaChan
	structChan chan Pair2
	syncMap    sync.Map
	pool       sync.Pool
	atomicPtr  atomic.Pointer[ViaAtomic]
	stackReady = make(chan struct{})
	stackBlock = make(chan struct{})
)

// Pair2 is the element of a channel of structs.
type Pair2 struct {
	N int
	P *ViaChanStruct
}

// holdOnStack keeps a *ViaStack only in a local of its blocked goroutine.
func holdOnStack(label string) {
	local := &ViaStack{A: 1, B: 2}
	truth.AddObject(label, local, map[string]any{"A": 1})
	close(stackReady)
	<-stackBlock
	local.A++ // keeps local live across the wait
}

func main() {
	flag.Parse()
	truth.SetScenario("typing")

	pp := &ViaPtrPtr{A: 1}
	holder = &Holder{
		Field:  &ViaField{A: 1},
		Array:  [3]*ViaArrayField{{A: 1}, {A: 2}, {A: 3}},
		Slice:  []*ViaSliceElem{{A: 1}, {A: 2}},
		Pairs:  []Pair{{Key: "one", Val: &ViaStructSliceElem{A: 1}}},
		Eface:  &ViaEface{A: 1},
		Value:  ViaEfaceValue{A: 1, P: &ViaEfaceValuePtr{A: 2}},
		Itab:   &ViaItab{A: 1},
		PtrPtr: &pp,
	}
	truth.AddGlobal("main.holder", &holder)
	truth.AddObject("field", holder.Field, nil)
	truth.AddObject("array_field_1", holder.Array[1], nil)
	truth.AddSlice("slice_array", holder.Slice, nil)
	truth.AddObject("slice_elem_1", holder.Slice[1], nil)
	truth.AddSlice("struct_slice_array", holder.Pairs, nil)
	truth.AddObject("struct_slice_elem", holder.Pairs[0].Val, nil)
	truth.AddObject("eface", holder.Eface.(*ViaEface), nil)
	truth.AddObject("eface_value_ptr", holder.Value.(ViaEfaceValue).P, nil)
	truth.AddObject("itab", holder.Itab.(*ViaItab), nil)
	truth.AddObject("ptr_ptr", pp, nil)
	mv := &ViaMethodValue{A: 1}
	holder.Method = mv.Get
	mvs := ViaMethodValueStruct{A: 1, P: &ViaMethodValueTarget{A: 2}}
	holder.ValueMethod = mvs.Get
	truth.AddObject("method_value_receiver", mv, nil)
	truth.AddObject("method_value_struct_receiver_ptr", mvs.P, nil)

	values = map[int]*ViaMapValue{}
	keys = map[*ViaMapKey]int{}
	indirect = map[int]ViaMapIndirect{}
	nested = map[string]map[int]*ViaNestedMap{}
	for i := 0; i < 20; i++ {
		values[i] = &ViaMapValue{A: int64(i)}
		keys[&ViaMapKey{A: int64(i)}] = i
		indirect[i] = ViaMapIndirect{P: &ViaMapIndirectPtr{A: int64(i)}}
	}
	nested["inner"] = map[int]*ViaNestedMap{7: {A: 7}}
	truth.AddGlobal("main.values", &values)
	truth.AddObject("map_value_3", values[3], nil)
	for k, v := range keys {
		if v == 5 {
			truth.AddObject("map_key_5", k, nil)
		}
	}
	truth.AddObject("map_indirect_value_ptr", indirect[4].P, nil)
	truth.AddObject("nested_map_value", nested["inner"][7], nil)
	truth.AddHeader("nested_map_inner", nested["inner"], nil)

	ptrChan = make(chan *ViaChan, 4)
	structChan = make(chan Pair2, 4)
	for i := 0; i < 2; i++ {
		ptrChan <- &ViaChan{A: int64(i)}
		structChan <- Pair2{N: i, P: &ViaChanStruct{A: int64(i)}}
	}
	first := <-ptrChan // re-queue to record the address of a queued one
	truth.AddObject("chan_elem", first, nil)
	ptrChan <- first
	firstPair := <-structChan
	truth.AddObject("chan_struct_elem", firstPair.P, nil)
	structChan <- firstPair

	sm := &ViaSyncMap{A: 1}
	syncMap.Store("key", sm)
	truth.AddObject("sync_map_value", sm, nil)

	pooled := &ViaPool{A: 1}
	pool.Put(pooled)
	truth.AddObject("pool_value", pooled, nil)

	at := &ViaAtomic{A: 1}
	atomicPtr.Store(at)
	truth.AddObject("atomic_pointer", at, nil)

	go holdOnStack("stack_local")
	<-stackReady
	truth.ExpectGoroutines(map[string]int{"chan receive": 1})

	truth.Finish()
}
