//go:build !unimon_nodebug

package monitor_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/monitor"
)

// TestDumpCore: a guest that aborts (HALT 255) or faults leaves an ELF
// core in Config.DumpCore that says so with the machine's own registers
// and memory: e_machine, an NT_PRSTATUS with the signal and the program
// counter of the halt or of the faulting instruction, and PT_LOAD
// segments that hold the guest's text at its virtual addresses (walked
// from the guest's page tables) with the ELF's bytes. The registers'
// layout and the halt instruction are the architecture's (coreLayout).
func TestDumpCore(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	tests := []struct {
		name   string
		image  []byte
		status int
		sig    byte
	}{
		{"abort", guests.Exit(255), 255, 6},
		{"fault", guests.WriteText(), 0, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, e := runForCore(t, tt.image)
			if tt.sig == 6 && (r.err != nil || r.status != 255) || tt.sig == 11 && !errors.Is(r.err, monitor.ErrGuest) {
				t.Fatalf("status %d, err %v", r.status, r.err)
			}
			desc := coreNotes(t, e.Progs[0])[elf.NT_PRSTATUS]
			if desc[0] != tt.sig || desc[12] != tt.sig {
				t.Errorf("NT_PRSTATUS signal %d, cursig %d; want %d", desc[0], desc[12], tt.sig)
			}
			pc := binary.LittleEndian.Uint64(desc[coreLayout.pc:])

			text, want := textSegment(t, tt.image)
			got, err := coreRead(e, text.Vaddr, text.Filesz)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("core at the text (%#x, %d bytes): %v; differs from the ELF's: %v", text.Vaddr, text.Filesz, err, !bytes.Equal(got, want))
			}
			if pc < text.Vaddr || pc >= text.Vaddr+text.Filesz {
				t.Fatalf("pc %#x is outside the text [%#x, %#x)", pc, text.Vaddr, text.Vaddr+text.Filesz)
			}
			if tt.sig == 11 {
				// The monitor's error names where the guest stood: the
				// core must show the same instruction.
				if !strings.Contains(r.err.Error(), fmt.Sprintf("%s=%#x", pcName, pc)) {
					t.Errorf("core pc %#x, but the error says %q", pc, r.err)
				}
				return
			}
			site := int64(pc) + coreLayout.haltOffset - int64(text.Vaddr)
			if site < 0 || site+int64(len(coreLayout.halt)) > int64(len(want)) || !bytes.Equal(want[site:site+int64(len(coreLayout.halt))], coreLayout.halt) {
				t.Errorf("pc %#x is not at the HALT hypercall (% x at %+d)", pc, coreLayout.halt, coreLayout.haltOffset)
			}
		})
	}
}

// TestNoCoreWithoutAbort: a guest that exits with a status of its own,
// 0 or not, leaves no core.
func TestNoCoreWithoutAbort(t *testing.T) {
	kvmtest.Require(t)
	for _, status := range []int32{0, 1, 254} {
		dir := t.TempDir()
		r, core, err := bootForCore(t, guests.Exit(status), monitor.Config{DumpCore: dir})
		if r.err != nil || r.status != int(status) || core != "" || err != nil {
			t.Errorf("exit %d: status %d, err %v, core %q, %v; want no core", status, r.status, r.err, core, err)
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
			t.Errorf("exit %d: files left in DumpCore: %q", status, files)
		}
	}
}

// runForCore runs image with a DumpCore directory and opens the core it
// must leave there.
func runForCore(t *testing.T, image []byte) (result, *elf.File) {
	t.Helper()
	dir := t.TempDir()
	r, core, err := bootForCore(t, image, monitor.Config{DumpCore: dir})
	if err != nil || filepath.Dir(core) != dir || !strings.HasPrefix(filepath.Base(core), "core.unimon.") {
		t.Fatalf("status %d, err %v; CoreFile = %q, %v; want core.unimon.* in %s", r.status, r.err, core, err, dir)
	}
	e, err := elf.Open(core)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if e.Type != elf.ET_CORE || e.Machine != guests.Machine || len(e.Progs) < 2 || e.Progs[0].Type != elf.PT_NOTE {
		t.Fatalf("core: %v %v, %d segments; want ET_CORE %v, a note and memory", e.Type, e.Machine, len(e.Progs), guests.Machine)
	}
	return r, e
}

// bootForCore is boot that also returns what VM.CoreFile says.
func bootForCore(t *testing.T, image []byte, cfg monitor.Config) (r result, core string, err error) {
	t.Helper()
	r = bootInspect(t, context.Background(), image, cfg, func(vm *monitor.VM) { core, err = vm.CoreFile() })
	return r, core, err
}

// textSegment returns the executable PT_LOAD of a unikernel image and
// its bytes.
func textSegment(t *testing.T, image []byte) (*elf.ProgHeader, []byte) {
	t.Helper()
	g, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range g.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			return &p.ProgHeader, b
		}
	}
	t.Fatal("the unikernel has no text segment")
	return nil, nil
}

// coreNotes returns the descriptors of the notes, all named "CORE", in
// the core's PT_NOTE segment, by type; the NT_PRSTATUS must be there, of
// the architecture's size.
func coreNotes(t *testing.T, note *elf.Prog) map[elf.NType][]byte {
	t.Helper()
	b := make([]byte, note.Filesz)
	if _, err := note.ReadAt(b, 0); err != nil {
		t.Fatalf("PT_NOTE of %d bytes: %v", len(b), err)
	}
	le := binary.LittleEndian
	notes := map[elf.NType][]byte{}
	for len(b) > 0 {
		if len(b) < 20 {
			t.Fatalf("PT_NOTE ends in %d stray bytes", len(b))
		}
		namesz, descsz, typ := le.Uint32(b), le.Uint32(b[4:]), elf.NType(le.Uint32(b[8:]))
		end := 20 + (int(descsz)+3)&^3
		if namesz != 5 || string(b[12:17]) != "CORE\x00" || len(b) < end {
			t.Fatalf("note %q of type %v, %d bytes: want CORE", b[12:16], typ, descsz)
		}
		notes[typ] = b[20 : 20+descsz]
		b = b[end:]
	}
	if len(notes[elf.NT_PRSTATUS]) != coreLayout.size {
		t.Fatalf("NT_PRSTATUS of %d bytes, want %d", len(notes[elf.NT_PRSTATUS]), coreLayout.size)
	}
	return notes
}

// coreRead reads n bytes of guest virtual memory at va from the core's
// PT_LOAD segments, across as many as hold them.
func coreRead(e *elf.File, va, n uint64) ([]byte, error) {
	out := make([]byte, 0, n)
	for uint64(len(out)) < n {
		at := va + uint64(len(out))
		var seg *elf.Prog
		for _, p := range e.Progs {
			if p.Type == elf.PT_LOAD && p.Vaddr <= at && at-p.Vaddr < p.Filesz {
				seg = p
			}
		}
		if seg == nil {
			return out, fmt.Errorf("%#x is in no PT_LOAD segment", at)
		}
		chunk := make([]byte, min(n-uint64(len(out)), seg.Vaddr+seg.Filesz-at))
		if _, err := seg.ReadAt(chunk, int64(at-seg.Vaddr)); err != nil {
			return out, err
		}
		out = append(out, chunk...)
	}
	return out, nil
}

// archCore is what TestDumpCore needs to know of an architecture's cores.
type archCore struct {
	size       int    // of the NT_PRSTATUS descriptor
	pc         int    // offset of the program counter in it
	halt       []byte // the HALT hypercall's instruction bytes (and the next's)
	haltOffset int64  // where they start from the pc of a halted guest
}
