package gobuild

import (
	"bytes"
	"context"
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
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}", "-tags", BuildTag}, flags...)
	cmd := exec.CommandContext(ctx, goCmd, append(args, pkg)...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("go list %s: %w: %s", pkg, err, strings.TrimSpace(errb.String()))
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if l == "net" {
			return true, nil
		}
	}
	return false, nil
}
