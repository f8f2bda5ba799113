//go:build linux && amd64

package bindings

import (
	"testing"
	"unsafe"
)

// The kernel's pure parts run on the host too: they only touch their own
// globals.

func resetVMAs() { nvmas = 0; vmas = [maxVMAs]vma{} }

func TestVMATable(t *testing.T) {
	resetVMAs()
	defer resetVMAs()
	const g = 1 << 30
	if !vmaAdd(8*g, 9*g, 0) || !vmaAdd(8*g+0x1000, 8*g+0x3000, 3) {
		t.Fatal("vmaAdd failed")
	}
	// A commit inside a reservation splits it in three.
	if nvmas != 3 {
		t.Fatalf("%d VMAs, want 3: %v", nvmas, vmas[:nvmas])
	}
	if i := findVMA(8*g + 0x2000); i < 0 || vmas[i].prot != 3 {
		t.Errorf("commit not found")
	}
	if i := findVMA(8*g + 0x3000); i < 0 || vmas[i].prot != 0 {
		t.Errorf("reservation after the commit lost")
	}
	// Adjacent commits with the same protection merge.
	vmaAdd(8*g+0x3000, 8*g+0x5000, 3)
	if i := findVMA(8*g + 0x1000); vmas[i].end != 8*g+0x5000 {
		t.Errorf("no merge: %v", vmas[:nvmas])
	}
	if !overlaps(9*g-1, 9*g+1) || overlaps(9*g, 10*g) {
		t.Errorf("overlaps wrong")
	}
	vmaRemove(8*g, 9*g)
	if nvmas != 0 || findVMA(8*g+0x2000) >= 0 {
		t.Errorf("remove left %v", vmas[:nvmas])
	}
}

func TestIsSyscallSite(t *testing.T) {
	tab := []uint64{0x101000, 0x101234, 0x1a0000}
	saved := buildInfo
	defer func() { buildInfo = saved }()
	buildInfo[1] = uint64(uintptr(unsafe.Pointer(&tab[0])))
	buildInfo[2] = uint64(len(tab))
	for _, pc := range tab {
		if !isSyscallSite(uintptr(pc)) {
			t.Errorf("%#x not found", pc)
		}
	}
	for _, pc := range []uintptr{0, 0x101001, 0x101233, 0x1a0002} {
		if isSyscallSite(pc) {
			t.Errorf("%#x found", pc)
		}
	}
}

func TestFormatting(t *testing.T) {
	var b [32]byte
	if n := utoa(b[:], 1234567890); string(b[:n]) != "1234567890" {
		t.Errorf("utoa: %s", b[:n])
	}
	if n := utoa(b[:], 0); string(b[:n]) != "0" {
		t.Errorf("utoa 0: %s", b[:n])
	}
	if n := hex(b[:], 0xdeadbeef); string(b[:n]) != "0x00000000deadbeef" {
		t.Errorf("hex: %s", b[:n])
	}
}

func resetThreads() { threads = [maxThreads]thread{}; used, cur, nextTID = 0, 0, 1 }

// Scans of the thread table stop at the highest slot ever given out, and
// a freed slot is given out again before a new one.
func TestThreadSlots(t *testing.T) {
	resetThreads()
	defer resetThreads()
	for want := range 3 {
		if i := newThread(); i != want {
			t.Fatalf("newThread = %d, want %d", i, want)
		}
	}
	threads[1].state = tFree
	if i := newThread(); i != 1 || used != 3 || len(slots()) != 3 {
		t.Fatalf("newThread = %d, used %d; want slot 1 again, used 3", i, used)
	}
	// A slot past used is never looked at, whatever it holds.
	park(&threads[2], waitSleep, 5)
	park(&threads[7], waitSleep, 5)
	expire(10)
	if threads[2].state != tRunnable || threads[7].state != tBlocked {
		t.Errorf("after expire: slot 2 %d (want runnable), slot 7 %d (want untouched)", threads[2].state, threads[7].state)
	}
}
