package gobuild

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/x86len"
	"github.com/unimon/unimon/monitor"
)

// allStd is the program that links all of the standard library, built
// once per test binary.
var allStd struct {
	once  sync.Once
	exe   []byte // go build's output, before Patch
	pkgs  int    // packages imported
	funcs int    // exported functions referenced
	took  time.Duration
	err   error
}

// stdPackages lists the standard packages a linux/amd64 program without
// cgo can import: no cmd, internal or vendor packages, none that fails to
// load for that target.
func stdPackages(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Error,DepsErrors", "std")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list std: %v", err)
	}
	var pkgs []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			ImportPath, Name string
			Error            *struct{ Err string }
			DepsErrors       []*struct{ Err string }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		internal := slices.ContainsFunc(strings.Split(p.ImportPath, "/"), func(e string) bool { return e == "internal" || e == "vendor" })
		if internal || strings.HasPrefix(p.ImportPath, "cmd/") || p.Name == "main" || p.Error != nil || len(p.DepsErrors) > 0 {
			continue
		}
		pkgs = append(pkgs, p.ImportPath)
	}
	return pkgs
}

// apiFuncRE matches an exported, non-generic package-level function of the
// Go 1 API files, for every platform or for linux/amd64.
var apiFuncRE = regexp.MustCompile(`^pkg ([^ ,]+)(?: \(linux-amd64\))?, func ([A-Z][A-Za-z0-9_]*)\(`)

// stdFuncs lists the exported functions of each package from
// $GOROOT/api/go1*.txt.
func stdFuncs(t *testing.T, goroot string) map[string][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(goroot, "api", "go1*.txt"))
	if len(files) == 0 {
		t.Fatalf("no API files in %s/api", goroot)
	}
	seen := map[string]bool{}
	funcs := map[string][]string{}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			m := apiFuncRE.FindStringSubmatch(line)
			if m == nil || seen[m[1]+"."+m[2]] {
				continue
			}
			seen[m[1]+"."+m[2]] = true
			funcs[m[1]] = append(funcs[m[1]], m[2])
		}
	}
	return funcs
}

// stdProgramSource is a main package that imports every package of pkgs
// and keeps every exported function of them and, through a MethodByName
// with a name only known at run time, every exported method of every
// type reachable through an interface: the linker's dead-code
// elimination would otherwise drop most of the library.
func stdProgramSource(pkgs []string, funcs map[string][]string) (src []byte, nfuncs int) {
	var imp, refs bytes.Buffer
	for i, p := range pkgs {
		fs := funcs[p]
		if p == "unsafe" || len(fs) == 0 {
			fmt.Fprintf(&imp, "\t_ %q\n", p)
			continue
		}
		fmt.Fprintf(&imp, "\tp%d %q\n", i, p)
		sort.Strings(fs)
		for _, f := range fs {
			fmt.Fprintf(&refs, "\tp%d.%s,\n", i, f)
			nfuncs++
		}
	}
	src = fmt.Appendf(nil, `package main

import (
	ureflect "reflect"
	uos "os"

	_ %q
%s)

var funcs = []any{
%s}

func main() {
	if len(uos.Args) > 2 {
		ureflect.ValueOf(funcs[len(uos.Args)]).MethodByName(uos.Args[1]).Call(nil)
	}
}
`, BindingsPath, imp.String(), refs.String())
	return src, nfuncs
}

// buildAllStd builds the program of stdProgramSource for the guest, as
// Build does, without patching it. The package exists only in a go build
// -overlay, inside the module so that it can import the bindings.
func buildAllStd(t *testing.T) {
	t.Helper()
	allStd.once.Do(func() {
		root := moduleRoot(t)
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			allStd.err = fmt.Errorf("go env GOROOT: %w", err)
			return
		}
		pkgs := stdPackages(t)
		src, nfuncs := stdProgramSource(pkgs, stdFuncs(t, strings.TrimSpace(string(out))))
		allStd.pkgs, allStd.funcs = len(pkgs), nfuncs
		dir, err := os.MkdirTemp("", "unimon-allstd-")
		if err != nil {
			allStd.err = err
			return
		}
		defer os.RemoveAll(dir)
		mainGo := filepath.Join(dir, "main.go")
		overlay := filepath.Join(dir, "overlay.json")
		js, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(root, "internal/gobuild/testdata/allstd/main.go"): mainGo}})
		if err := os.WriteFile(mainGo, src, 0o644); err != nil {
			allStd.err = err
			return
		}
		if err := os.WriteFile(overlay, js, 0o644); err != nil {
			allStd.err = err
			return
		}
		var log bytes.Buffer
		exe := filepath.Join(dir, "allstd")
		start := time.Now()
		err = compile(context.Background(), Options{Dir: root, Package: "./internal/gobuild/testdata/allstd", BuildFlags: []string{"-overlay", overlay}, Stderr: &log}, exe)
		allStd.took = time.Since(start)
		if err != nil {
			allStd.err = fmt.Errorf("%w\n%s", err, log.String())
			return
		}
		allStd.exe, allStd.err = os.ReadFile(exe)
	})
	if allStd.err != nil {
		t.Fatal(allStd.err)
	}
}

// objdumpText disassembles .text of exe with GNU objdump and returns the
// address of every instruction it finds and of every SYSCALL.
func objdumpText(t *testing.T, exe []byte) (starts, syscalls []uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exe")
	if err := os.WriteFile(path, exe, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("objdump", "-d", "-j", ".text", "--no-show-raw-insn", path)
	cmd.Stderr = os.Stderr
	r, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("objdump (binutils, installed by make deps): %v", err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// "  401000:\tmov    %fs:0xfffffffffffffff8,%rcx"
		line := sc.Bytes()
		if len(line) == 0 || line[0] != ' ' {
			continue
		}
		addr, insn, ok := bytes.Cut(bytes.TrimLeft(line, " "), []byte(":\t"))
		if !ok {
			continue
		}
		a, err := strconv.ParseUint(string(addr), 16, 64)
		if err != nil {
			continue
		}
		starts = append(starts, a)
		if mn, _, _ := bytes.Cut(insn, []byte(" ")); string(bytes.TrimSpace(mn)) == "syscall" {
			syscalls = append(syscalls, a)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("objdump: %v", err)
	}
	return starts, syscalls
}

// The whole standard library: a program that links every importable
// package (and keeps their exported functions and methods) patches
// without an error, its SYSCALLs are exactly those GNU objdump finds,
// every instruction boundary of every function is where objdump puts it,
// and the unikernel boots: every package's init runs inside, main returns.
func TestAllStd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: building all of std takes a while; make test runs it")
	}
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Fatalf("objdump (binutils, installed by make deps): %v", err)
	}
	buildAllStd(t)
	in := allStd.exe
	text, fns := textOf(t, in)

	start := time.Now()
	img, res, err := Patch(in, guestabi.NewManifest())
	patchTook := time.Since(start)
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	if err := CheckLoadable(img); err != nil {
		t.Fatal(err)
	}

	var ours []uint64
	byEnc := map[x86len.Encoding]int{}
	adx := 0
	code := in[text.Offset : text.Offset+text.Size]
	if err := walkText(code, text.Addr, fns, func(_ textFunc, pc uint64, in x86len.Inst) error {
		ours = append(ours, pc)
		byEnc[in.Encoding]++
		if in.Encoding == x86len.Legacy && in.Map == x86len.Map0F38 && in.Op == 0xf6 {
			adx++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	theirs, syscalls := objdumpText(t, in)
	objdumpTook := time.Since(start)
	if !slices.Equal(res.Syscalls, syscalls) {
		t.Errorf("patched %d SYSCALLs, objdump finds %d", len(res.Syscalls), len(syscalls))
		for _, a := range symmetricDiff(res.Syscalls, syscalls, 10) {
			t.Errorf("  differ at %#x (%s)", a, funcAt(fns, a))
		}
	}
	// objdump also lists the INT3 padding between functions, and decodes
	// the data of the goversion markers as instructions, which takes it
	// past the RET that ends them: the comparison leaves out both.
	var data [][2]uint64
	for _, fn := range fns {
		if lo, hi := dataInText(code[fn.start-text.Addr : fn.end-text.Addr]); lo < hi {
			data = append(data, [2]uint64{fn.start + uint64(lo), fn.end})
		}
	}
	inData := func(a uint64) bool {
		return slices.ContainsFunc(data, func(d [2]uint64) bool { return d[0] <= a && a < d[1] })
	}
	theirs = slices.DeleteFunc(theirs, func(a uint64) bool { return funcAt(fns, a) == "" || inData(a) })
	ours = slices.DeleteFunc(ours, inData)
	if !slices.Equal(ours, theirs) {
		t.Errorf("%d instructions decoded, objdump has %d in the same functions", len(ours), len(theirs))
		for _, a := range symmetricDiff(ours, theirs, 10) {
			t.Errorf("  boundary differs at %#x (%s)", a, funcAt(fns, a))
		}
	}
	if adx == 0 || byEnc[x86len.VEX] == 0 || byEnc[x86len.EVEX] == 0 {
		t.Errorf("no ADCX/ADOX (%d), VEX or EVEX (%v) instructions: the program does not link what it should", adx, byEnc)
	}
	t.Run("boots", func(t *testing.T) { bootAllStd(t, img) })
	t.Logf("%d packages, %d exported functions; go build %v; %d functions (%d with data in text), %d instructions (%d VEX, %d EVEX, %d ADCX/ADOX), %d bytes of text; Patch %v; objdump %v; %d SYSCALLs patched, objdump counts %d",
		allStd.pkgs, allStd.funcs, allStd.took.Round(time.Millisecond), len(fns), len(data), len(ours), byEnc[x86len.VEX], byEnc[x86len.EVEX], adx, text.Size, patchTook.Round(time.Millisecond), objdumpTook.Round(time.Millisecond), len(res.Syscalls), len(syscalls))
}

// symmetricDiff returns up to max values in exactly one of the sorted
// slices a and b.
func symmetricDiff(a, b []uint64, max int) []uint64 {
	var d []uint64
	for i, j := 0, 0; (i < len(a) || j < len(b)) && len(d) < max; {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			d = append(d, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			d = append(d, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return d
}

// funcAt names the function holding a, "" if none does.
func funcAt(fns []textFunc, a uint64) string {
	i := sort.Search(len(fns), func(i int) bool { return fns[i].end > a })
	if i < len(fns) && fns[i].start <= a {
		return fmt.Sprintf("%s+%#x", fns[i].name, a-fns[i].start)
	}
	return ""
}

// bootAllStd runs the all-std unikernel img, which must exit 0 without
// leaving file descriptors behind.
func bootAllStd(t *testing.T, img []byte) {
	kvmtest.Require(t)
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	before := fds()
	var console bytes.Buffer
	vm, err := monitor.New(monitor.Config{KernelImage: img, Memory: 256 << 20, Console: &console})
	if err != nil {
		t.Fatalf("monitor.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	status, err := vm.Run(ctx)
	vm.Close()
	if err != nil || status != 0 {
		t.Errorf("Run: status %d, %v; console:\n%s", status, err, console.String())
	}
	if after := fds(); after != before {
		t.Errorf("file descriptors: %d before, %d after", before, after)
	}
}
