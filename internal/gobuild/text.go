package gobuild

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"sort"

	"github.com/unimon/unimon/internal/x86len"
)

// ErrDecode is returned (wrapped, naming the function and the bytes) when
// the text of the program holds something the instruction decoder cannot
// place: an invalid opcode, an instruction running past its function's
// end, or bytes outside every function that are not padding.
var ErrDecode = errors.New("cannot decode the program's text")

// textFunc is one function of .text, as the symbol table places it.
type textFunc struct {
	name       string
	start, end uint64
}

// int3 is what the Go linker pads between functions with.
const int3 = 0xcc

// textFuncs lists the functions of text from the ELF symbol table, sorted
// and without overlaps. Several symbols can share an address (the
// runtime.text marker, of size 0, sits on the first function): the one
// with a size names it. A function whose symbol has no size, like the
// runtime.etext marker, runs to the next symbol or the end of the text.
func textFuncs(f *elf.File, text *elf.Section) ([]textFunc, error) {
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("reading symbols (was the binary stripped?): %w", err)
	}
	textEnd := text.Addr + text.Size
	var fns []textFunc
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value >= text.Addr && s.Value < textEnd {
			fns = append(fns, textFunc{s.Name, s.Value, s.Value + s.Size})
		}
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("no function symbols in .text (was the binary stripped?)")
	}
	// By address, the largest first among equals, which the loop keeps.
	sort.Slice(fns, func(i, j int) bool {
		if fns[i].start != fns[j].start {
			return fns[i].start < fns[j].start
		}
		return fns[i].end > fns[j].end
	})
	out := fns[:0]
	for _, fn := range fns {
		if len(out) > 0 && out[len(out)-1].start == fn.start {
			continue
		}
		out = append(out, fn)
	}
	for i := range out {
		next := textEnd
		if i+1 < len(out) {
			next = out[i+1].start
		}
		// No size (or one that wraps around): up to the next function.
		if out[i].end <= out[i].start || out[i].end > next {
			out[i].end = next
		}
	}
	return out, nil
}

// findSyscalls returns the address of every SYSCALL in code, the bytes
// of .text loaded at addr (see walkText).
func findSyscalls(code []byte, addr uint64, fns []textFunc) ([]uint64, error) {
	var sites []uint64
	err := walkText(code, addr, fns, func(fn textFunc, pc uint64, in x86len.Inst) error {
		if !in.IsSyscall() {
			return nil
		}
		if in.Len != 2 {
			return fmt.Errorf("%w: SYSCALL at %#x in %s+%#x has prefixes (% x): the guest expects the two bytes alone", ErrDecode, pc, fn.name, pc-fn.start, code[pc-addr:pc-addr+uint64(in.Len)])
		}
		sites = append(sites, pc)
		return nil
	})
	return sites, err
}

// walkText decodes every instruction of every function in code (the bytes
// of .text, loaded at addr) and calls visit with each, stopping at the
// first error. The walk starts afresh at each function's first byte, so
// an error names the function it happened in, and an instruction may not
// run past its function's end. The bytes between functions must be the
// linker's INT3 padding: Go puts no data there, and anything else is an
// error rather than a guess. Inside functions, the only data is what
// dataInText knows.
func walkText(code []byte, addr uint64, fns []textFunc, visit func(fn textFunc, pc uint64, in x86len.Inst) error) error {
	prevEnd, prevName := addr, "the start of .text"
	for _, fn := range fns {
		if err := checkPadding(code[prevEnd-addr:fn.start-addr], prevEnd, prevName); err != nil {
			return err
		}
		body := code[fn.start-addr : fn.end-addr]
		dataLo, dataHi := dataInText(body)
		for off := 0; off < len(body); {
			if off == dataLo {
				off = dataHi
				continue
			}
			in, err := x86len.Decode(body[off:])
			if err != nil {
				if errors.Is(err, x86len.ErrTruncated) {
					err = fmt.Errorf("%w: the instruction runs past the end of the function (%d bytes)", err, len(body))
				}
				return fmt.Errorf("%w: at %#x in %s+%#x: %w", ErrDecode, fn.start+uint64(off), fn.name, off, err)
			}
			if err := visit(fn, fn.start+uint64(off), in); err != nil {
				return err
			}
			off += in.Len
		}
		prevEnd, prevName = fn.end, fn.name
	}
	return checkPadding(code[prevEnd-addr:], prevEnd, prevName)
}

// goversionMarker starts the functions of crypto/internal/boring/sig
// (BoringCrypto, StandardCrypto, FIPSOnly), which rsc.io/goversion looks
// for: a two-byte jump over 29 bytes of data (the rest of this marker and
// 24 random bytes) to a RET.
var goversionMarker = []byte{0xeb, 0x1d, 0xf4, 0x48, 0xf4, 0x4b, 0xf4}

// dataInText returns the bytes [lo, hi) of a function's body that are data
// rather than instructions, lo == hi == -1 if there are none. The goversion
// markers are the only data the Go toolchain and standard library put in
// .text (their assembly has no other BYTE data in a TEXT), and decoding
// them as instructions would disagree with the CPU, which never runs them.
func dataInText(body []byte) (lo, hi int) {
	const end = 2 + 0x1d // the jump's target
	if bytes.HasPrefix(body, goversionMarker) && len(body) > end {
		return 2, end
	}
	return -1, -1
}

// checkPadding reports bytes of b (at addr, after the function named
// after) that are not INT3 padding.
func checkPadding(b []byte, addr uint64, after string) error {
	for i, c := range b {
		if c != int3 {
			return fmt.Errorf("%w: %d bytes at %#x after %s are in no function and are not INT3 padding (% x)", ErrDecode, len(b)-i, addr+uint64(i), after, b[i:min(i+8, len(b))])
		}
	}
	return nil
}
