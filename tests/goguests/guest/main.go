// Command guest is the Go unikernel the end-to-end tests of issue 4 run
// (tests/goguests): one program, a mode per first argument, so the tests
// build it once.
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	_ "github.com/unimon/unimon/bindings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: guest MODE [ARGS...]")
		os.Exit(1)
	}
	switch os.Args[1] {
	case "hello":
		fmt.Printf("hello: args=%q\n", os.Args[2:])
	case "exit":
		n, _ := strconv.Atoi(os.Args[2])
		fmt.Println("exiting with", n)
		os.Exit(n)
	case "panic":
		panicHere()
	case "nil":
		var p *int
		fmt.Println(*p)
	case "time":
		fmt.Printf("time: %d\n", time.Now().UnixNano())
	case "rand":
		a, b := make([]byte, 32), make([]byte, 32)
		if _, err := rand.Read(a); err != nil {
			fmt.Println("rand: error", err)
			os.Exit(1)
		}
		if _, err := rand.Read(b); err != nil {
			fmt.Println("rand: error", err)
			os.Exit(1)
		}
		fmt.Printf("rand: %x %x\n", a, b)
	case "concurrency":
		concurrency()
	case "sleep":
		d, _ := time.ParseDuration(os.Args[2])
		fmt.Println("sleep: start")
		time.Sleep(d)
		fmt.Println("sleep: end")
	case "memory":
		memory()
	case "starvation":
		starvation()
	case "stress":
		stress()
	case "syscalls":
		// A system call round trip as the program sees it: getpid traps
		// to the bindings' kernel and back every time.
		n, _ := strconv.Atoi(os.Args[2])
		t0 := time.Now()
		for i := 0; i < n; i++ {
			syscall.Getpid()
		}
		fmt.Printf("syscalls: %d ns/op\n", time.Since(t0).Nanoseconds()/int64(n))
	case "clock":
		// time.Now through the vDSO: no trap.
		n, _ := strconv.Atoi(os.Args[2])
		t0 := time.Now()
		for i := 0; i < n; i++ {
			time.Now()
		}
		fmt.Printf("clock: %d ns/op\n", time.Since(t0).Nanoseconds()/int64(n))
	default:
		fmt.Println("unknown mode", os.Args[1])
		os.Exit(1)
	}
}

//go:noinline
func panicHere() {
	panic("deliberate panic from the guest")
}

func concurrency() {
	const n = 1000
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
	)
	results := make(chan int, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mu.Lock()
			total += i
			mu.Unlock()
			results <- i % 7
		}(i)
	}
	go func() { wg.Wait(); close(results) }()
	sum := 0
	for r := range results {
		sum += r
	}
	mu.Lock()
	fmt.Printf("concurrency: goroutines=%d total=%d sum=%d\n", n, total, sum)
	mu.Unlock()
	// select with timers
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Millisecond)
	ticks := 0
loop:
	for {
		select {
		case <-tick.C:
			ticks++
		case <-timeout:
			break loop
		}
	}
	fmt.Printf("concurrency: ticks=%d\n", ticks)
	fmt.Println("concurrency: sleep start")
	t0 := time.Now()
	time.Sleep(50 * time.Millisecond)
	fmt.Printf("concurrency: sleep end guest=%dms\n", time.Since(t0).Milliseconds())
}

// memory allocates and drops 1 GiB in total in chunks, with collections
// and returns to the OS in between, and checks that fresh allocations
// (which reuse released pages) read as zero.
func memory() {
	const chunk = 8 << 20
	var keep [][]byte
	total := 0
	for total < 1<<30 {
		b := make([]byte, chunk)
		for i := 0; i < len(b); i += 4096 {
			if b[i] != 0 {
				fmt.Printf("memory: fresh allocation not zero at %d after %d MiB\n", i, total>>20)
				os.Exit(1)
			}
			b[i] = byte(i/4096) | 1
		}
		keep = append(keep, b)
		if len(keep) == 4 {
			keep = nil
			runtime.GC()
		}
		total += chunk
		if total%(256<<20) == 0 {
			debug.FreeOSMemory()
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("memory: allocated=%dMiB sys=%dMiB released=%dMiB numgc=%d\n", total>>20, ms.Sys>>20, ms.HeapReleased>>20, ms.NumGC)
}

// starvation spins one goroutine in a loop without function calls and
// checks that another goroutine still gets to run.
func starvation() {
	var stop, spins int64
	go func() {
		for stop == 0 {
			spins++
		}
	}()
	time.Sleep(time.Millisecond)
	done := make(chan bool)
	go func() {
		for i := 0; i < 5; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		done <- true
	}()
	<-done
	stop = 1
	fmt.Println("starvation: others progressed")
}

// work is deterministic floating-point and map work whose result a
// corrupted register (x87/SSE state lost across a trap or a preemption)
// would change.
func work(seed int) float64 {
	m := map[int]float64{}
	x := float64(seed) + 0.5
	for i := 0; i < 20000; i++ {
		x = x*1.0000001 + float64(i%7)/3.0
		if i%97 == 0 {
			m[i] = x
			_ = make([]byte, 512+i%4096) // allocate: page faults, GC
		}
	}
	for k := 0; k < 20000; k += 97 { // in key order: float addition is not associative
		x += m[k] / float64(k+1)
	}
	return x
}

// stress runs work in many goroutines, with timers and a spinning
// goroutine, and checks every result against a sequential run.
func stress() {
	const n = 64
	want := make([]float64, n)
	for i := range want {
		want[i] = work(i)
	}
	var stop int64
	go func() {
		for stop == 0 {
		}
	}()
	for round := 0; round < 5; round++ {
		got := make([]float64, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				time.Sleep(time.Duration(i%5) * time.Millisecond)
				got[i] = work(i)
			}(i)
		}
		wg.Wait()
		for i := range got {
			if got[i] != want[i] {
				fmt.Printf("stress: round %d goroutine %d: got %v want %v\n", round, i, got[i], want[i])
				os.Exit(1)
			}
		}
		runtime.GC()
	}
	stop = 1
	fmt.Println("stress: ok")
}
