// etcd: a real service for typing (issue 20).  An embedded etcd server
// (go.etcd.io/etcd/server/v3/embed) takes 100,000 keys of 100-1,000 bytes
// through its own gRPC client over 127.0.0.1, then the process stops for a
// core: with -crash it dies by SIGABRT (GOTRACEBACK=crash, a kernel core),
// else it prints "ready PID" and waits for gcore.  Not part of the default
// corpus: it has its own go.mod so that the corpus never downloads etcd.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"net"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// freeURL is an http URL on 127.0.0.1 with a port nothing listens on.
func freeURL() url.URL {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}
}

func main() {
	keys := flag.Int("keys", 100000, "keys to put")
	crash := flag.Bool("crash", false, "die by SIGABRT once loaded (a kernel core with GOTRACEBACK=crash)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "gomortem-etcd-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // the load is about the heap, not the disk
	client, peer := freeURL(), freeURL()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	server, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	select {
	case <-server.Server.ReadyNotify():
	case <-time.After(5 * time.Minute):
		log.Fatal("etcd did not start")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{client.Host}, DialTimeout: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	load(cli, *keys)
	if *crash {
		syscall.Kill(os.Getpid(), syscall.SIGABRT)
	}
	fmt.Printf("ready %d\n", os.Getpid())
	select {}
}

// load puts N keys of 100-1,000 pseudo-random bytes from 8 clients at once.
func load(cli *clientv3.Client, n int) {
	const workers = 8
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w) + 1))
			for i := w; i < n; i += workers {
				value := make([]byte, 100+rng.Intn(901))
				rng.Read(value)
				if _, err := cli.Put(context.Background(), fmt.Sprintf("key-%06d", i), string(value)); err != nil {
					log.Fatal(err)
				}
			}
		}(w)
	}
	wg.Wait()
}
