package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// readNewc parses a newc archive into name -> (mode, rdev major, data).
func readNewc(t *testing.T, b []byte) map[string][3]any {
	t.Helper()
	out := map[string][3]any{}
	pad := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; ; {
		if off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("bad header at %d", off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, rmaj, namesize := field(1), field(6), field(9), field(11)
		name := string(b[off+110 : off+110+namesize-1])
		dataOff := pad(off + 110 + namesize)
		if name == "TRAILER!!!" {
			return out
		}
		out[name] = [3]any{mode, rmaj, b[dataOff : dataOff+size]}
		off = pad(dataOff + size)
	}
}

func TestInitramfs(t *testing.T) {
	dir := t.TempDir()
	initBin := filepath.Join(dir, "init")
	test := filepath.Join(dir, "probe.test")
	os.WriteFile(initBin, []byte("INIT"), 0o755)
	os.WriteFile(test, []byte("odd-sized test binary"), 0o755)
	cli := filepath.Join(dir, "unimon")
	os.WriteFile(cli, []byte("CLI"), 0o755)
	out := filepath.Join(dir, "initrd.cpio")
	if err := buildInitramfs(out, initBin, cli, []byte(`{"Run":"x"}`), []string{test}, map[string]string{"/files/k.hvt": cli}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	files := readNewc(t, b)
	if e := files["dev/console"]; e[0] != sIFCHR|0o600 || e[1] != 5 {
		t.Errorf("dev/console entry %v", e)
	}
	if e := files["init"]; e[0] != sIFREG|0o755 || !bytes.Equal(e[2].([]byte), []byte("INIT")) {
		t.Errorf("init entry %v", e)
	}
	if e := files["tests/probe.test"]; !bytes.Equal(e[2].([]byte), []byte("odd-sized test binary")) {
		t.Errorf("test entry %v", e)
	}
	if e := files["lane.json"]; string(e[2].([]byte)) != `{"Run":"x"}` {
		t.Errorf("config entry %v", e)
	}
	if e := files["bin/unimon"]; e[0] != sIFREG|0o755 || string(e[2].([]byte)) != "CLI" {
		t.Errorf("CLI entry %v", e)
	}
	if e := files["files/k.hvt"]; e[0] != sIFREG|0o644 || string(e[2].([]byte)) != "CLI" {
		t.Errorf("exec file entry %v", e)
	}
	if e, ok := files["tests"]; !ok || e[0] != sIFDIR|0o755 {
		t.Errorf("tests directory entry %v", e)
	}
}

func TestKernelPackageRE(t *testing.T) {
	out := "linux-image-arm64:arm64\n  Depends: linux-image-6.1.0-56-arm64:arm64\n  Recommends: firmware-linux-free\n"
	m := kernelPackageRE.FindStringSubmatch(out)
	if m == nil || m[1] != "linux-image-6.1.0-56-arm64" {
		t.Fatalf("match %q", m)
	}
	if kernelPackageRE.MatchString("  Depends: linux-image-arm64-signed-template\n") {
		t.Error("matched a non-versioned package")
	}
}
