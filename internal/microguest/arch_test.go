package microguest

import (
	"bytes"
	"debug/elf"
	"runtime"
	"slices"
	"testing"
)

func TestForArch(t *testing.T) {
	for arch, want := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		c, ok := ForArch(arch)
		if !ok || c.Arch != arch || c.Machine != want {
			t.Errorf("ForArch(%q) = %s %v, %v", arch, c.Arch, c.Machine, ok)
		}
	}
	if c, ok := ForArch("riscv64"); ok || c.Hello != nil {
		t.Errorf("ForArch(riscv64) = %+v, %v; want the zero Catalogue, false", c, ok)
	}
	if _, ok := ForArch(runtime.GOARCH); ok && Host.Arch != runtime.GOARCH {
		t.Errorf("Host is the %q catalogue on %s", Host.Arch, runtime.GOARCH)
	}
}

// Every guest of both catalogues is an ELF for the catalogue's machine,
// and is the program Build makes under the shared name: a test written
// against the catalogue runs the same program on either architecture.
func TestCataloguesAgree(t *testing.T) {
	p := Params{Status: 3, N: 5, Timeout: 99}
	for _, c := range []Catalogue{X86_64, AArch64} {
		guests := map[string][]byte{
			"hello": c.Hello(), "exit": c.Exit(3), "walltime": c.Walltime(), "poll": c.PollTimeout(99),
			"block-roundtrip": c.BlockRoundTrip(), "net-echo": c.NetEcho(), "write-text": c.WriteText(),
			"spin": c.Spin(), "puts-loop": c.PutsLoop(5), "walltime-loop": c.WalltimeLoop(5),
		}
		for _, hc := range HostileCases() {
			b, err := c.Hostile(hc.Call, hc.Kind)
			if err != nil {
				t.Fatalf("%s %s: %v", c.Arch, hc.Name(), err)
			}
			guests[hc.Name()] = b
		}
		for name, b := range guests {
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil || f.Machine != c.Machine {
				t.Errorf("%s %s: not an ELF for %v (%v)", c.Arch, name, c.Machine, err)
				continue
			}
			if built, err := c.Build(name, p); err != nil || !bytes.Equal(built, b) {
				t.Errorf("%s %s: Build differs from the catalogue's guest (%v)", c.Arch, name, err)
			}
		}
		names := c.Names()
		for name := range guests {
			if !slices.Contains(names, name) {
				t.Errorf("%s: Names lacks %q", c.Arch, name)
			}
		}
	}
}
