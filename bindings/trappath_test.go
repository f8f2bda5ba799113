//go:build linux && amd64

package bindings_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"

	"github.com/unimon/unimon/internal/gobuild"
)

// TestTrapPathDoesNotAllocate builds a Go unikernel and walks the static
// call graph of its kernel from ktrap (every trap enters there, and the
// boot path too): nothing reachable may call the allocator, test the
// write barrier flag or call a write barrier, or call morestack other than
// from the stack check every split function ends with (the kernel's fake
// g has a stack guard of 0, so that check never fails). Calls to the
// runtime's panic functions end the walk: a bounds check failing in the
// kernel is a kernel bug that takes the guest down either way. It walks
// the amd64 and the arm64 kernel alike, both built here.
func TestTrapPathDoesNotAllocate(t *testing.T) {
	for _, arch := range []struct {
		name string
		dec  func() decoder
	}{
		{"amd64", func() decoder { return x86Decoder{} }},
		{"arm64", func() decoder { return &arm64Decoder{} }},
	} {
		t.Run(arch.name, func(t *testing.T) { testTrapPath(t, arch.name, arch.dec()) })
	}
}

func testTrapPath(t *testing.T, arch string, dec decoder) {
	out := filepath.Join(t.TempDir(), "hello.hvt")
	var log bytes.Buffer
	if _, err := gobuild.Build(context.Background(), gobuild.Options{Package: "./examples/hello", Output: out, Dir: "..", Arch: arch, Stderr: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text := f.Section(".text")
	code, err := text.Data()
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	type fn struct {
		name       string
		start, end uint64
	}
	var fns []fn
	byName := map[string]fn{}
	names := map[uint64]string{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value >= text.Addr && s.Value < text.Addr+text.Size {
			fns = append(fns, fn{s.Name, s.Value, s.Value + s.Size})
			names[s.Value] = s.Name
		}
		if s.Name == "runtime.writeBarrier" {
			names[s.Value] = s.Name
		}
	}
	// The kernel's tables of function values: a function that reads one
	// may call through it, and the walk follows every entry.
	tables := map[string][]string{}
	for _, s := range syms {
		if !funcTables[s.Name] {
			continue
		}
		names[s.Value] = s.Name
		data := make([]byte, s.Size)
		if err := readVA(f, s.Value, data); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		for off := 0; off+8 <= len(data); off += 8 {
			fv := binary.LittleEndian.Uint64(data[off:])
			if fv == 0 {
				continue
			}
			var code [8]byte
			if err := readVA(f, fv, code[:]); err != nil {
				continue // not a function value (a table may hold other words)
			}
			if name, ok := names[binary.LittleEndian.Uint64(code[:])]; ok {
				tables[s.Name] = append(tables[s.Name], name)
			}
		}
	}
	for name := range funcTables {
		// Empty means the table is filled at run time, too late for a
		// kernel that runs before the runtime's init.
		if len(tables[name]) == 0 {
			t.Errorf("%s: no function values in the binary's data (not statically initialised?)", name)
		}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].start < fns[j].start })
	for i := range fns {
		if fns[i].end <= fns[i].start && i+1 < len(fns) {
			fns[i].end = fns[i+1].start
		}
		byName[fns[i].name] = fns[i]
	}
	forbidden := func(name string) bool {
		for _, p := range []string{"runtime.mallocgc", "runtime.newobject", "runtime.makeslice", "runtime.growslice",
			"runtime.gcWriteBarrier", "runtime.wbBuf", "runtime.morestack", "runtime.newstack", "runtime.convT",
			"runtime.makemap", "runtime.mapassign", "runtime.concatstring", "runtime.slicebytetostring"} {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	terminal := func(name string) bool {
		return strings.HasPrefix(name, "runtime.panic") || strings.HasPrefix(name, "runtime.goPanic") || name == "runtime.gopanic"
	}

	const root = "github.com/unimon/unimon/bindings.ktrap"
	if _, ok := byName[root]; !ok {
		t.Fatalf("%s not in the binary", root)
	}
	seen := map[string]bool{root: true}
	via := map[string]string{}
	queue := []string{root}
	var panics []string
	readsTable := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		fn := byName[name]
		body := code[fn.start-text.Addr : fn.end-text.Addr]
		dec.reset()
		for pc := 0; pc < len(body); {
			n, in := dec.decode(body, pc, fn.start)
			at := fn.start + uint64(pc)
			for _, r := range in.refs {
				callee, ok := names[r.target]
				if !ok {
					continue
				}
				if entries, ok := tables[callee]; ok {
					readsTable[name] = true
					for _, c := range entries {
						if !seen[c] {
							seen[c] = true
							via[c] = name + " (" + strings.TrimPrefix(callee, bindingsPrefix) + ")"
							queue = append(queue, c)
						}
					}
					continue
				}
				if callee == "runtime.writeBarrier" {
					t.Errorf("%s (reached via %s) tests the write barrier flag at %#x", name, chain(via, name), at)
					continue
				}
				if !r.branch {
					continue
				}
				if strings.HasPrefix(callee, "runtime.morestack") && dec.isStackCheck(body[pc+n:], at+uint64(n), fn.start) {
					continue
				}
				if forbidden(callee) {
					t.Errorf("%s (reached via %s) calls %s at %#x", name, chain(via, name), callee, at)
					continue
				}
				if terminal(callee) {
					panics = append(panics, name+" -> "+callee)
					continue
				}
				if !seen[callee] {
					seen[callee] = true
					via[callee] = name
					queue = append(queue, callee)
				}
			}
			if in.indirectCall && !trampolineCallers[name] && !readsTable[name] {
				t.Errorf("%s (reached via %s) makes an indirect call at %#x: the walk cannot follow it", name, chain(via, name), at)
			}
			pc += n
		}
	}
	t.Logf("%d functions reachable from ktrap; %d bounds-check panic edges end the walk", len(seen), len(panics))
	if testing.Verbose() {
		var all []string
		for n := range seen {
			all = append(all, n)
		}
		sort.Strings(all)
		t.Logf("reachable: %s", strings.Join(all, " "))
	}
}

const bindingsPrefix = "github.com/unimon/unimon/bindings."

// funcTables are the kernel's tables of function values (the system call
// table, the fd operations, the mount table and the options).
var funcTables = map[string]bool{
	bindingsPrefix + "sysTable": true,
	bindingsPrefix + "fdOps":    true,
	bindingsPrefix + "mounts":   true,
	bindingsPrefix + "options":  true,
}

// readVA reads len(b) bytes at virtual address va from f's loaded
// segments.
func readVA(f *elf.File, va uint64, b []byte) error {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && va >= p.Vaddr && va+uint64(len(b)) <= p.Vaddr+p.Filesz {
			_, err := p.ReadAt(b, int64(va-p.Vaddr))
			return err
		}
	}
	return fmt.Errorf("%#x is not in the file's loaded data", va)
}

// trampolineCallers call the fixed UD2;RET trampoline (kcall's request to
// the CPL0 part) through a register: that indirect call is known (amd64;
// on arm64 the kernel's requests are SVCs).
var trampolineCallers = map[string]bool{
	"github.com/unimon/unimon/bindings.kcall.abi0":      true,
	"github.com/unimon/unimon/bindings.resumeUser.abi0": true,
}

// A decoder finds what each instruction of a function refers to.
type decoder interface {
	// reset starts a function.
	reset()
	// decode decodes the instruction at body[pc:] of the function at
	// start and returns its length (at least 1) and references.
	decode(body []byte, pc int, start uint64) (int, decoded)
	// isStackCheck reports whether the instructions after a call to
	// morestack (after, from address next) reload the register arguments
	// and jump straight back to the function's start: the compiler's
	// stack-growth epilogue, which a stack guard of 0 makes unreachable.
	isStackCheck(after []byte, next, start uint64) bool
}

// decoded is what one instruction refers to.
type decoded struct {
	refs         []ref
	indirectCall bool // a call through a register
}

// ref is an address an instruction calls or jumps to (branch) or reads
// or takes.
type ref struct {
	target uint64
	branch bool
}

// x86Decoder decodes amd64 code with x86asm: calls and jumps with
// relative targets, RIP-relative memory operands.
type x86Decoder struct{}

func (x86Decoder) reset() {}

func (x86Decoder) decode(body []byte, pc int, start uint64) (int, decoded) {
	inst, err := x86asm.Decode(body[pc:], 64)
	if err != nil {
		return 1, decoded{} // padding or an instruction x86asm lacks; never a call here
	}
	next := start + uint64(pc+inst.Len)
	var d decoded
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Rel:
			d.refs = append(d.refs, ref{uint64(int64(next) + int64(a)), inst.Op == x86asm.CALL || inst.Op == x86asm.JMP})
		case x86asm.Mem:
			if a.Base == x86asm.RIP {
				d.refs = append(d.refs, ref{uint64(int64(next) + a.Disp), inst.Op == x86asm.CALL || inst.Op == x86asm.JMP})
			}
		}
	}
	if inst.Op == x86asm.CALL {
		_, d.indirectCall = inst.Args[0].(x86asm.Reg)
	}
	return inst.Len, d
}

func (x86Decoder) isStackCheck(after []byte, next, start uint64) bool {
	for i := 0; i < 32 && len(after) > 0; i++ {
		inst, err := x86asm.Decode(after, 64)
		if err != nil {
			return false
		}
		next += uint64(inst.Len)
		after = after[inst.Len:]
		switch inst.Op {
		case x86asm.MOV, x86asm.MOVSD_XMM, x86asm.MOVSS, x86asm.MOVUPS, x86asm.MOVZX, x86asm.NOP:
			continue
		case x86asm.JMP:
			rel, ok := inst.Args[0].(x86asm.Rel)
			return ok && uint64(int64(next)+int64(rel)) == start
		}
		return false
	}
	return false
}

// arm64Decoder decodes arm64 code with arm64asm: BL and B with their
// targets, BLR, and the ADRP pairs the Go linker makes for a global's
// address (ADRP Xn, page, then ADD or a load or store from Xn with an
// unsigned offset), followed by the register ADRP set.
type arm64Decoder struct {
	page map[uint32]uint64 // register number -> page ADRP put in it
}

func (d *arm64Decoder) reset() { d.page = map[uint32]uint64{} }

func (d *arm64Decoder) decode(body []byte, pc int, start uint64) (int, decoded) {
	if pc+4 > len(body) {
		return len(body) - pc, decoded{}
	}
	addr := start + uint64(pc)
	word := binary.LittleEndian.Uint32(body[pc:])
	inst, err := arm64asm.Decode(body[pc : pc+4])
	if err != nil {
		return 4, decoded{} // padding (zeros) or data
	}
	var out decoded
	rd, rn := word&0x1f, word>>5&0x1f
	switch inst.Op {
	case arm64asm.BL, arm64asm.B:
		if rel, ok := inst.Args[0].(arm64asm.PCRel); ok {
			out.refs = append(out.refs, ref{uint64(int64(addr) + int64(rel)), true})
		}
	case arm64asm.BLR:
		out.indirectCall = true
	case arm64asm.ADRP:
		if rel, ok := inst.Args[1].(arm64asm.PCRel); ok {
			d.page[rd] = uint64(int64(addr&^0xfff) + int64(rel))
			return 4, out
		}
	case arm64asm.ADD:
		// ADD (immediate, 64-bit): sf 1, op 0, S 0, 100010, sh, imm12.
		if p, ok := d.page[rn]; ok && word&0xff800000 == 0x91000000 {
			off := uint64(word >> 10 & 0xfff)
			if word>>22&1 == 1 {
				off <<= 12
			}
			out.refs = append(out.refs, ref{p + off, false})
		}
	default:
		// Loads and stores (unsigned offset): size, 111, V, 01, opc,
		// imm12 scaled by the access size.
		if p, ok := d.page[rn]; ok && word&0x3b000000 == 0x39000000 {
			scale := word >> 30
			if word>>26&1 == 1 && word>>23&1 == 1 { // a 128-bit SIMD register
				scale = 4
			}
			out.refs = append(out.refs, ref{p + uint64(word>>10&0xfff)<<scale, false})
		}
	}
	delete(d.page, rd) // whatever else the instruction did, rd is no longer a page
	return 4, out
}

func (d *arm64Decoder) isStackCheck(after []byte, next, start uint64) bool {
	for i := 0; i < 32 && len(after) >= 4; i++ {
		inst, err := arm64asm.Decode(after[:4])
		if err != nil {
			return false
		}
		switch op := inst.Op; {
		case op == arm64asm.MOV, op == arm64asm.FMOV, op == arm64asm.NOP, strings.HasPrefix(op.String(), "LD"): // the reloads
		case op == arm64asm.B:
			rel, ok := inst.Args[0].(arm64asm.PCRel)
			return ok && uint64(int64(next)+int64(rel)) == start
		default:
			return false
		}
		next += 4
		after = after[4:]
	}
	return false
}

func chain(via map[string]string, name string) string {
	var c []string
	for n := name; n != ""; n = via[n] {
		c = append(c, strings.TrimPrefix(n, bindingsPrefix))
	}
	return strings.Join(c, " <- ")
}
