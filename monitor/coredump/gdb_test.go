package coredump

import (
	"debug/elf"
	"os/exec"
	"strings"
	"testing"

	"github.com/unimon/unimon/monitor/kvm"
)

// TestGDBReadsCore: Debian's gdb-multiarch, the reader cores are for,
// finds each architecture's registers where the notes put them (arm64's
// FP/SIMD registers too), the
// signal, and the memory at its virtual address. The end-to-end tests
// (monitor's TestDumpCore, tests/gdb) check what the monitor fills in;
// this checks the layout against gdb for both architectures on any host,
// arm64 included, which the ARM64 lane (no gdb in its VM) cannot.
func TestGDBReadsCore(t *testing.T) {
	gdb, err := exec.LookPath("gdb-multiarch")
	if err != nil {
		t.Fatalf("gdb-multiarch is not installed (make deps installs it): %v", err)
	}
	var a UserPtRegs
	for i := range a.X {
		a.X[i] = uint64(0x1000 + i)
	}
	a.SP, a.PC, a.PState = 0x1fff0, 0x100004, 0x3c5
	fp := FPSIMD{FPSR: 0x8000010, FPCR: 0x3000000}
	fp.V[0][0], fp.V[0][15] = 0x11, 0xff
	fp.V[31][8] = 0x31
	tests := []struct {
		machine elf.Machine
		note    []byte
		fpNote  []byte // NT_FPREGSET
		text    []byte
		cmds    []string
		want    []string
	}{{
		machine: elf.EM_AARCH64,
		note:    PRStatusARM64(a, 11),
		fpNote:  FPRegsetARM64(fp),
		text:    []byte{0x20, 0, 0, 0xb9, 0x1f, 0x20, 0x03, 0xd5}, // str w0, [x1]; nop
		cmds: []string{"p/x $x0", "p/x $x30", "p/x $sp", "p/x $cpsr", "x/2i 0x100000",
			"p/x $v0.q.u", "p/x $v31.d.u", "p/x $fpsr", "p/x $fpcr"},
		want: []string{"signal SIGSEGV", "#0  0x0000000000100004 in ?? ()", "= 0x1000\n", "= 0x101e\n", "= 0x1fff0\n", "= 0x3c5\n",
			"0x100000:\tstr\tw0, [x1]", "=> 0x100004:\tnop",
			"= {0xff000000000000000000000000000011}", "= {0x0, 0x31}", "= 0x8000010\n", "= 0x3000000\n"},
	}, {
		machine: elf.EM_X86_64,
		note:    PRStatusAMD64(kvm.Regs{RAX: 0x1234, R15: 0x15, RSP: 0x1fff0, RIP: 0x100001}, kvm.Sregs{}, 11),
		text:    []byte{0xef, 0x0f, 0x0b}, // out dx, eax; ud2
		cmds:    []string{"p/x $rax", "p/x $r15", "p/x $rsp", "x/2i 0x100000"},
		want: []string{"signal SIGSEGV", "#0  0x0000000000100001 in ?? ()", "= 0x1234\n", "= 0x15\n", "= 0x1fff0\n",
			"0x100000:\tout    %eax,(%dx)", "=> 0x100001:\tud2"},
	}}
	for _, tt := range tests {
		t.Run(tt.machine.String(), func(t *testing.T) {
			f, err := Create(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			text := make([]byte, pageSize)
			copy(text, tt.text)
			c := Core{Machine: tt.machine, Notes: []Note{{Name: "CORE", Type: elf.NT_PRSTATUS, Desc: tt.note}},
				Segments: []Segment{{VA: 0x100000, Data: text}}}
			if tt.fpNote != nil {
				c.Notes = append(c.Notes, Note{Name: "CORE", Type: elf.NT_FPREGSET, Desc: tt.fpNote})
			}
			if _, err := Write(f, c); err != nil {
				t.Fatal(err)
			}
			args := []string{"-nx", "-q", "-batch", "-ex", "core-file " + f.Name()}
			for _, c := range tt.cmds {
				args = append(args, "-ex", c)
			}
			out, err := exec.Command(gdb, args...).CombinedOutput()
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("gdb output lacks %q (%v):\n%s", w, err, out)
				}
			}
		})
	}
}
