package gobuild

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree reads a packed file tree the way bindings/treefs.go does.
type tree []byte

func (t tree) node(i uint32) (parent uint32, name string, mode uint32, data []byte) {
	le := binary.LittleEndian
	r := t[24+32*int(i):]
	no, nl := le.Uint32(r[4:]), le.Uint32(r[8:])
	off, size := le.Uint64(r[16:]), le.Uint64(r[24:])
	return le.Uint32(r[0:]), string(t[no : no+nl]), le.Uint32(r[12:]), t[off : off+size]
}

func (t tree) lookup(p string) (uint32, bool) {
	count := binary.LittleEndian.Uint32(t[8:])
	cur := uint32(0)
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c == "" {
			continue
		}
		found := false
		for k := uint32(1); k < count; k++ {
			if parent, name, _, _ := t.node(k); parent == cur && name == c {
				cur, found = k, true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return cur, true
}

func TestPackFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.txt": "alpha", "z.txt": "zulu", "sub/b.txt": "bravo", "sub/deeper/c.txt": "charlie",
		"testdata/x.in": strings.Repeat("x", 5000), "m.go": "package m",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "zone"), []byte("tz"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A mount's directory may be a symbolic link (the test builder's
	// GOROOT is made of them).
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	b, err := PackFiles([]FileMount{{Dir: link, At: "/src/pkg"}, {Dir: other, At: "/lib/time"}}, "/src/pkg")
	if err != nil {
		t.Fatal(err)
	}
	tr := tree(b)
	if got := binary.LittleEndian.Uint64(b); got != treeMagic {
		t.Fatalf("magic %#x", got)
	}
	cl, co := binary.LittleEndian.Uint32(b[12:]), binary.LittleEndian.Uint64(b[16:])
	if cwd := string(b[co : co+uint64(cl)]); cwd != "/src/pkg" {
		t.Errorf("cwd %q", cwd)
	}
	want := map[string]string{"/lib/time/zone": "tz"}
	for name, text := range files {
		want["/src/pkg/"+name] = text
	}
	for p, text := range want {
		i, ok := tr.lookup(p)
		if !ok {
			t.Errorf("%s: not found", p)
			continue
		}
		_, _, mode, data := tr.node(i)
		if mode&sIFMT != sIFREG || string(data) != text {
			t.Errorf("%s: mode %o, data %q, want a file with %q", p, mode, data, text)
		}
	}
	for _, p := range []string{"/", "/src", "/src/pkg/sub/deeper", "/lib"} {
		i, ok := tr.lookup(p)
		if _, _, mode, _ := tr.node(i); !ok || mode&sIFMT != sIFDIR {
			t.Errorf("%s: not a directory", p)
		}
	}
}
