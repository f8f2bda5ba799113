//go:build linux && amd64

package bindings

import (
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestLayoutARM64 checks, on the build host, that the addresses and
// frame offsets cpu_arm64.s spells out agree with layout_arm64.go: it
// type-checks layout_arm64.go for arm64 and compares the constants with
// the assembly's #defines and with the offsets its frame code uses.
func TestLayoutARM64(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "layout_arm64.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: importer.Default(), Sizes: types.SizesFor("gc", "arm64")}
	pkg, err := conf.Check("bindings", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	goConst := func(name string) uint64 {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok {
			t.Fatalf("layout_arm64.go has no constant %s", name)
		}
		v, _ := constant.Uint64Val(c.Val())
		return v
	}
	asm, err := os.ReadFile("cpu_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	defines := map[string]uint64{}
	for _, m := range regexp.MustCompile(`(?m)^#define (\w+) (0x[0-9a-f]+|\d+)\b`).FindAllStringSubmatch(string(asm), -1) {
		v, err := strconv.ParseUint(m[2], 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		defines[m[1]] = v
	}
	for asmName, goName := range map[string]string{
		"FRAME": "frameAddr", "FAKE_G": "fakeG", "KSTACK_LO": "kstackLo", "KSTACK_TOP": "kstackTop",
		"FPAREA": "fpAreaAddr", "EL1_STACK_TOP": "el1StackTop", "PRIVATE_TABLES": "l0Base",
		"GUARD_PAGE": "guardPage", "L3_MAX_PAGES": "l3TextMax", "TICK_COUNT": "tickCount", "VDSO_DATA": "vdsoData",
	} {
		if defines[asmName] != goConst(goName) {
			t.Errorf("cpu_arm64.s %s = %#x, layout_arm64.go %s = %#x", asmName, defines[asmName], goName, goConst(goName))
		}
	}
	if l3 := goConst("l0Base") + 0x10000; l3 != goConst("l3TextBase") {
		t.Errorf("tables<> puts L3 at l0Base+0x10000 = %#x, layout_arm64.go l3TextBase = %#x", l3, goConst("l3TextBase"))
	}
	// The frame offsets el1trap's loads and stores use.
	frameT := pkg.Scope().Lookup("frame").Type().Underlying().(*types.Struct)
	var fields []*types.Var
	for i := range frameT.NumFields() {
		fields = append(fields, frameT.Field(i))
	}
	offs := conf.Sizes.Offsetsof(fields)
	want := map[string]int64{"X": 0, "SP": 248, "PC": 256, "PSTATE": 264, "TPIDR": 272, "ESR": 280, "FAR": 288, "Slot": 296}
	for i, fl := range fields {
		if w, ok := want[fl.Name()]; ok && offs[i] != w {
			t.Errorf("frame.%s at %d, cpu_arm64.s uses %d", fl.Name(), offs[i], w)
		}
	}
	if s := conf.Sizes.Sizeof(frameT); uint64(s) != goConst("frameSize") || goConst("frameAddr")%16 != 0 {
		t.Errorf("frame is %d bytes at %#x: the kernel stack below it must stay 16-byte aligned", s, goConst("frameAddr"))
	}
}
