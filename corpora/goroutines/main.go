// Command goroutines parks a known number of goroutines in known wait states
// (channel receive, sync.Mutex.Lock, select, sleep, a raw blocking syscall and
// a network read), keeps a modest heap, then dumps (truth.json + heapdump)
// and crashes (or, with -live, waits to be gcore'd). See ../README.md.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"gomortem/corpora/internal/truth"
)

// Item is an element of the modest heap.
type Item struct {
	ID   int
	Name string
	Next *Item
}

var (
	n = flag.Int("n", 4, "goroutines per blocking kind (chan receive, mutex, select, sleep)")

	items    *Item
	registry map[string]*Item

	recvChans []chan *Item // one per receiver; nobody ever sends
	mu        sync.Mutex   // locked by main forever
	selA      = make(chan int)
	selB      = make(chan string)
	pipeFds   [2]int
	listener  net.Listener
	client    net.Conn
	server    net.Conn
	sinkMu    int
)

func recvLoop(c chan *Item) {
	it := <-c
	fmt.Println(it)
}

func lockLoop(i int) {
	mu.Lock()
	sinkMu += i
	mu.Unlock()
}

func selectLoop(i int) {
	select {
	case v := <-selA:
		fmt.Println(i, v)
	case s := <-selB:
		fmt.Println(i, s)
	}
}

func sleeper(i int) {
	time.Sleep(time.Hour + time.Duration(i)*time.Second)
}

func rawRead(fd int) {
	var buf [64]byte
	// A raw read on a pipe that nobody writes: blocks in the kernel, not in
	// the netpoller (the fd is blocking and unknown to the runtime).
	nr, err := syscall.Read(fd, buf[:])
	fmt.Println(nr, err)
}

func serve(c net.Conn) {
	buf := make([]byte, 128)
	nr, err := c.Read(buf) // parks in the netpoller: "IO wait"
	fmt.Println(nr, err)
}

func main() {
	flag.Parse()
	truth.SetScenario("goroutines")
	truth.SetParam("n", *n)

	registry = make(map[string]*Item)
	for i := 0; i < 500; i++ {
		items = &Item{ID: i, Name: fmt.Sprintf("item-%d", i), Next: items}
		if i%5 == 0 {
			registry[items.Name] = items
		}
	}
	truth.AddObject("items_head", items, map[string]any{"ID": 499, "Name": "item-499", "Next": truth.Ptr(items.Next)})
	truth.AddHeader("registry", registry, nil)
	truth.AddGlobal("main.items", &items)
	truth.AddGlobal("main.registry", &registry)
	truth.AddGlobal("main.mu", &mu)

	for i := 0; i < *n; i++ {
		c := make(chan *Item)
		recvChans = append(recvChans, c)
		go recvLoop(c)
	}
	mu.Lock()
	for i := 0; i < *n; i++ {
		go lockLoop(i)
	}
	for i := 0; i < *n; i++ {
		go selectLoop(i)
	}
	for i := 0; i < *n; i++ {
		go sleeper(i)
	}

	if err := syscall.Pipe(pipeFds[:]); err != nil {
		fmt.Fprintln(os.Stderr, "pipe:", err)
		os.Exit(1)
	}
	go rawRead(pipeFds[0])

	var err error
	listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	client, err = net.Dial("tcp", listener.Addr().String())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	server, err = listener.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, "accept:", err)
		os.Exit(1)
	}
	go serve(server)
	truth.SetParam("listen_addr", listener.Addr().String())

	truth.ExpectGoroutines(map[string]int{
		"chan receive":    *n,
		"sync.Mutex.Lock": *n,
		"select":          *n,
		"sleep":           *n,
		"syscall":         1,
		"IO wait":         1,
	})
	truth.Finish()
}
