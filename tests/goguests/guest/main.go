//go:build linux && (amd64 || arm64)

// Command guest is the Go unikernel the end-to-end tests of issue 4 run
// (tests/goguests): one program, a mode per first argument, so the tests
// build it once.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/unimon/unimon/bindings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: guest MODE [ARGS...]")
		os.Exit(1)
	}
	switch os.Args[1] {
	case "hello":
		fmt.Printf("hello: args=%q\n", os.Args[2:])
	case "auxv":
		auxv()
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
	case "dup":
		dupFds()
	case "socketpair":
		socketPair()
		fmt.Println("socketpair: done")
	case "unixsock":
		unixSockets()
		fmt.Println("unixsock: done")
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
	case "block":
		block(os.Args[2])
	case "net":
		netEcho(os.Args[2])
	case "netbusy":
		netBusy(os.Args[2])
	case "netraw":
		netRaw(os.Args[2])
	case "netqueue":
		netQueue(os.Args[2])
	case "blockrandom":
		seed, _ := strconv.Atoi(os.Args[3])
		n, _ := strconv.Atoi(os.Args[4])
		blockRandom(os.Args[2], uint64(seed), n)
	case "blockro":
		blockReadOnly(os.Args[2])
	default:
		fmt.Println("unknown mode", os.Args[1])
		os.Exit(1)
	}
}

// auxv prints AT_HWCAP from /proc/self/auxv and what golang.org/x/sys/cpu
// (which reads the same file) made of it.
func auxv() {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		fmt.Println("auxv:", err)
		os.Exit(1)
	}
	for ; len(b) >= 16; b = b[16:] {
		tag, val := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		if tag == 16 { // AT_HWCAP
			fmt.Printf("hwcap: %#x\n", val)
		}
	}
	switch runtime.GOARCH {
	case "arm64":
		fmt.Printf("x/sys/cpu: fp=%v asimd=%v aes=%v sha2=%v atomics=%v\n",
			cpu.ARM64.HasFP, cpu.ARM64.HasASIMD, cpu.ARM64.HasAES, cpu.ARM64.HasSHA2, cpu.ARM64.HasATOMICS)
	case "amd64":
		fmt.Printf("x/sys/cpu: sse2=%v\n", cpu.X86.HasSSE2)
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

func check(what string, err error) {
	if err != nil {
		fmt.Printf("%s: %v\n", what, err)
		os.Exit(1)
	}
}

// pattern is what the block test writes; the host checks it in the file.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// block writes and reads back the device name through an os.File at
// unaligned offsets spanning several blocks: WriteAt at 1000, a Seek and
// Write over the last 100 bytes, then reads through ReadAt and an
// io.SectionReader sized by Stat.
func block(name string) {
	size, bs, err := bindings.BlockInfo(name)
	check("block: info", err)
	fmt.Printf("block: size=%d blocksize=%d\n", size, bs)
	if _, err := bindings.OpenBlock("nosuch"); !errors.Is(err, fs.ErrNotExist) {
		fmt.Printf("block: OpenBlock(nosuch) = %v, want ErrNotExist\n", err)
		os.Exit(1)
	}
	if _, err := os.Open(bindings.DevicePrefix + "nosuch"); !errors.Is(err, fs.ErrNotExist) {
		fmt.Printf("block: os.Open(nosuch) = %v, want ErrNotExist\n", err)
		os.Exit(1)
	}
	f, err := bindings.OpenBlock(name)
	check("block: open", err)
	st, err := f.Stat()
	check("block: stat", err)
	if st.Size() != size {
		fmt.Printf("block: Stat().Size() = %d, want %d\n", st.Size(), size)
		os.Exit(1)
	}
	p := pattern(3000)
	_, err = f.WriteAt(p, 1000)
	check("block: WriteAt", err)
	_, err = f.Seek(-100, io.SeekEnd)
	check("block: Seek", err)
	_, err = f.Write(p[:100])
	check("block: Write", err)
	if _, err := f.Write(p[:1]); err == nil {
		fmt.Println("block: a write at the end succeeded")
		os.Exit(1)
	}
	got := make([]byte, 3000)
	_, err = f.ReadAt(got, 1000)
	check("block: ReadAt", err)
	if !bytes.Equal(got, p) {
		fmt.Println("block: ReadAt returned other bytes than written")
		os.Exit(1)
	}
	all, err := io.ReadAll(io.NewSectionReader(f, 0, st.Size()))
	check("block: SectionReader", err)
	if int64(len(all)) != size || !bytes.Equal(all[1000:4000], p) || !bytes.Equal(all[size-100:], p[:100]) {
		fmt.Printf("block: whole-device read of %d bytes differs\n", len(all))
		os.Exit(1)
	}
	check("block: close", f.Close())
	fmt.Printf("block: ok first=%x\n", all[:4])
}

// netEcho has a goroutine read frames from the net device (blocking in
// Read, which parks it in the netpoller) and the main goroutine send each
// back with the MAC addresses swapped, until a frame whose payload
// starts with "stop".
func netEcho(name string) {
	mac, mtu, err := bindings.NetInfo(name)
	check("net: info", err)
	// Formatted by hand: importing net would link the network stack,
	// which takes the device this raw test wants (see bindings/netstack).
	fmt.Printf("net: mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%d\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], mtu)
	f, err := bindings.OpenNet(name)
	check("net: open", err)
	if _, err := f.Write(make([]byte, mtu+15)); !errors.Is(err, syscall.EINVAL) {
		fmt.Printf("net: oversized write: %v, want EINVAL\n", err)
		os.Exit(1)
	}
	frames := make(chan []byte)
	go func() {
		for {
			buf := make([]byte, mtu+14)
			n, err := f.Read(buf)
			check("net: read", err)
			frames <- buf[:n]
		}
	}()
	fmt.Println("net: waiting")
	echoed := 0
	for fr := range frames {
		if len(fr) >= 18 && string(fr[14:18]) == "stop" {
			break
		}
		if echoed == 0 {
			fmt.Printf("net: got %d bytes\n", len(fr))
		}
		reply := append(append(append([]byte{}, fr[6:12]...), fr[0:6]...), fr[12:]...)
		_, err = f.Write(reply)
		check("net: write", err)
		echoed++
	}
	fmt.Printf("net: echoed %d\n", echoed)
}

// netQueue leaves frames unread: first with the device not open, then
// open but not read for a second, and only then reads the numbered
// frames the host sent (an early frame sent before the open may be
// dropped). A read with a deadline and nothing to read times out.
func netQueue(name string) {
	_, mtu, err := bindings.NetInfo(name)
	check("net: info", err)
	fmt.Println("net: not open")
	time.Sleep(time.Second)
	f, err := bindings.OpenNet(name)
	check("net: open", err)
	fmt.Println("net: open")
	time.Sleep(time.Second)
	buf := make([]byte, mtu+14)
	var got []byte
	for len(got) < 5 {
		n, err := f.Read(buf)
		check("net: read", err)
		if n >= 15 && buf[14] != 0 {
			got = append(got, buf[14])
		}
	}
	fmt.Printf("net: frames %v\n", got)
	check("net: deadline", f.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	if _, err := f.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		fmt.Printf("net: read past the deadline: %v\n", err)
		os.Exit(1)
	}
	check("net: close", f.Close())
	fmt.Println("net: deadline ok")
}

// blockReadOnly reads the device and finds writes refused with EIO.
func blockReadOnly(name string) {
	f, err := bindings.OpenBlock(name)
	check("blockro: open", err)
	b := make([]byte, 10)
	_, err = f.ReadAt(b, 5)
	check("blockro: ReadAt", err)
	_, err = f.WriteAt(b, 5)
	fmt.Printf("blockro: read %x, write: %v\n", b[:2], errors.Is(err, syscall.EIO))
}

// netBusy receives a frame in a goroutine while the main goroutine
// computes without blocking: the frame must get through without the
// program ever being idle.
func netBusy(name string) {
	f, err := bindings.OpenNet(name)
	check("net: open", err)
	var got atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		n, err := f.Read(buf)
		check("net: read", err)
		got.Store(int64(n))
	}()
	fmt.Println("net: busy")
	t0 := time.Now()
	x := 1.0
	for got.Load() == 0 && time.Since(t0) < 30*time.Second {
		for i := 0; i < 1000; i++ {
			x = x*1.0000001 + 1
		}
	}
	fmt.Printf("net: got %d bytes while busy (%v)\n", got.Load(), x > 0)
}

// blockRandom does n random reads and writes (ReadAt, WriteAt, Seek with
// Read or Write) of up to three blocks at any offset, some across the
// end of the device, checking every read against a model of the device
// kept in memory, and prints the model's SHA-256 for the host to compare
// with the backing file.
func blockRandom(name string, seed uint64, n int) {
	f, err := bindings.OpenBlock(name)
	check("blockrandom: open", err)
	size, bs, err := bindings.BlockInfo(name)
	check("blockrandom: info", err)
	model, err := io.ReadAll(f)
	check("blockrandom: read all", err)
	if int64(len(model)) != size {
		fmt.Printf("blockrandom: read %d bytes of %d\n", len(model), size)
		os.Exit(1)
	}
	rng := mrand.New(mrand.NewPCG(seed, seed))
	for i := 0; i < n; i++ {
		off := rng.Int64N(size)
		l := 1 + rng.IntN(3*bs)
		seek := rng.IntN(2) == 0
		if seek {
			_, err := f.Seek(off, io.SeekStart)
			check("blockrandom: seek", err)
		}
		end := min(off+int64(l), size)
		if rng.IntN(2) == 0 {
			buf := make([]byte, l)
			var k int
			if seek {
				k, err = io.ReadFull(f, buf)
			} else {
				k, err = f.ReadAt(buf, off)
			}
			if int64(k) != end-off || (end-off < int64(l)) != (err != nil) || !bytes.Equal(buf[:k], model[off:end]) {
				fmt.Printf("blockrandom: op %d: read %d at %d: got %d, %v\n", i, l, off, k, err)
				os.Exit(1)
			}
			continue
		}
		buf := make([]byte, l)
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		var k int
		if seek {
			k, err = f.Write(buf)
		} else {
			k, err = f.WriteAt(buf, off)
		}
		// A write across the end writes up to it and fails; WriteAt
		// then reports 0 bytes (os.File.WriteAt drops the count of a
		// pwrite that also returned an error), Write the true count.
		if (end-off < int64(l)) != (err != nil) || (err == nil && k != l) || (seek && int64(k) != end-off) {
			fmt.Printf("blockrandom: op %d: write %d at %d: wrote %d, %v\n", i, l, off, k, err)
			os.Exit(1)
		}
		copy(model[off:end], buf)
	}
	check("blockrandom: close", f.Close())
	fmt.Printf("blockrandom: ok sha256=%x\n", sha256.Sum256(model))
}

// netRaw reads a frame with a raw read system call on the file's
// descriptor, which Fd puts in blocking mode: the thread blocks in the
// bindings' kernel rather than in the netpoller.
func netRaw(name string) {
	f, err := bindings.OpenNet(name)
	check("net: open", err)
	fd := int(f.Fd())
	fl, err := fcntl(fd, syscall.F_GETFL, 0)
	check("net: F_GETFL", err)
	fmt.Printf("net: raw fd nonblock=%v\n", fl&syscall.O_NONBLOCK != 0)
	buf := make([]byte, 2048)
	n, err := syscall.Read(fd, buf)
	check("net: raw read", err)
	fmt.Printf("net: raw read %d bytes\n", n)
	check("net: close", f.Close())
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
