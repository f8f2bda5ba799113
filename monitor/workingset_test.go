package monitor_test

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"unsafe"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/guestmem"
)

// A unikernel's boot working set note has New back the ranges it lists
// with host memory, cut below the top page of the memory the VM has, and
// nothing else; a malformed note is refused as any bad note is.
func TestBootWorkingSet(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	const page = guestabi.PageSize
	listed := guestabi.Range{Start: 0x300000, Len: 16 * page}
	pastTop := guestabi.Range{Start: smallMem - 2*page, Len: 16 * page}
	image := microguest.ELF(microguest.Guest{Machine: guests.Machine, Text: make([]byte, 16),
		WorkingSet: guestabi.EncodeWorkingSet([]guestabi.Range{listed, pastTop})})
	u, err := monitor.NewUnikernel(image)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := monitor.New(monitor.Config{Unikernel: u, Memory: smallMem})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	host := monitor.HostMemory(vm)
	resident, err := guestmem.Resident(host)
	if err != nil {
		t.Fatal(err)
	}
	// Where the host backs anonymous memory with huge pages unasked (the
	// arm64 lane's kernel), populating a page brings in its whole 2 MiB
	// block: a page sharing one with a listed page says nothing.
	hugeBlock := func(gpa uint64) uintptr { return (uintptr(unsafe.Pointer(&host[0])) + uintptr(gpa)) >> 21 }
	nearListed := func(gpa uint64) bool {
		return thpAlways() && (hugeBlock(gpa) == hugeBlock(listed.Start) || hugeBlock(gpa) == hugeBlock(listed.End()-page) ||
			hugeBlock(gpa) == hugeBlock(pastTop.Start))
	}
	for _, tt := range []struct {
		gpa  uint64
		want bool
	}{
		{listed.Start - page, false},
		{listed.Start, true},
		{listed.End() - page, true},
		{listed.End(), false},
		{pastTop.Start - page, false},
		{pastTop.Start, true},
		{smallMem - page, false}, // the top page, which no access may reach
	} {
		if !tt.want && nearListed(tt.gpa) {
			continue
		}
		if got := resident[tt.gpa/page]; got != tt.want {
			t.Errorf("guest page %#x resident after New: %v, want %v", tt.gpa, got, tt.want)
		}
	}

	bad := microguest.ELF(microguest.Guest{Machine: guests.Machine, Text: make([]byte, 16),
		WorkingSet: guestabi.EncodeWorkingSet([]guestabi.Range{{Start: 0x300800, Len: page}})})
	if _, err := monitor.NewUnikernel(bad); !errors.Is(err, monitor.ErrKernel) || !errors.Is(err, guestabi.ErrBadNote) {
		t.Errorf("unaligned working set range: %v, want ErrKernel and ErrBadNote", err)
	}
}

// thpAlways reports whether the host backs anonymous memory with
// transparent huge pages even where nobody asked (MADV_HUGEPAGE).
func thpAlways() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && bytes.Contains(b, []byte("[always]"))
}
