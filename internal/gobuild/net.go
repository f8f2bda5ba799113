package gobuild

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os/exec"
	"strings"
)

// NetTag is the build tag Build adds when the program imports package
// net: package bindings then links the network stack
// (bindings/netstack), which serves the socket system calls. A program
// that does not use the network does not carry the stack.
const NetTag = "unimon_net"

// importsNet reports whether pkg (built with env and flags in dir)
// depends on package net.
func importsNet(ctx context.Context, goCmd, dir, pkg string, env, flags []string) (bool, error) {
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, mergeFlags(flags, BuildTag, "")...)
	cmd := exec.CommandContext(ctx, goCmd, append(args, pkg)...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("go list %s: %w: %s", pkg, err, strings.TrimSpace(errb.String()))
	}
	for _, l := range strings.Split(out.String(), "\n") {
		// With -test, net is "net [p.test]" when it imports the package
		// under test (context's tests, say).
		if l == "net" || strings.HasPrefix(l, "net [") {
			return true, nil
		}
	}
	return false, nil
}

// Symbols markRawNet looks for.
const (
	openNetSym   = BindingsPath + ".OpenNet"
	takeFirstSym = BindingsPath + "/netstack.takeFirstDevice"
)

// markRawNet tells the network stack of a program that also opens net
// devices raw (the linker kept bindings.OpenNet) to leave the devices
// alone unless --unimon:net= names them: it clears the stack's
// takeFirstDevice in the executable exe. A program without the stack,
// or without OpenNet, is left as it is.
func markRawNet(exe []byte) error {
	f, err := elf.NewFile(bytes.NewReader(exe))
	if err != nil {
		return fmt.Errorf("reading the executable: %w", err)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil // no symbol table: nothing to learn
	}
	var take *elf.Symbol
	raw := false
	for i := range syms {
		switch syms[i].Name {
		case openNetSym:
			raw = true
		case takeFirstSym:
			take = &syms[i]
		}
	}
	if !raw || take == nil {
		return nil
	}
	if int(take.Section) >= len(f.Sections) {
		return fmt.Errorf("%s: bad section index %d", takeFirstSym, take.Section)
	}
	sec := f.Sections[take.Section]
	off := sec.Offset + (take.Value - sec.Addr)
	if sec.Type != elf.SHT_PROGBITS || take.Value < sec.Addr || off >= uint64(len(exe)) || take.Size != 1 {
		return fmt.Errorf("%s is not a byte of initialised data (section %s)", takeFirstSym, sec.Name)
	}
	exe[off] = 0
	return nil
}
