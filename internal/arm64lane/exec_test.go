package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestExecArgs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"k.hvt", "disk.img"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs := filepath.Join(dir, "k.hvt")
	for _, tt := range []struct {
		name    string
		args    []string
		vm      []string
		files   map[string]string
		wantErr bool
	}{
		{"kernel only", []string{"k.hvt"}, []string{"/files/kernel.hvt"},
			map[string]string{"/files/kernel.hvt": abs}, false},
		{"options and guest args", []string{"--mem=64", "k.hvt", "--block=x", "a"},
			[]string{"--mem=64", "/files/kernel.hvt", "--block=x", "a"},
			map[string]string{"/files/kernel.hvt": abs}, false},
		{"block images are copied", []string{"--block:disk=disk.img", "--", abs},
			[]string{"--block:disk=/files/block0", "--", "/files/kernel.hvt"},
			map[string]string{"/files/block0": filepath.Join(dir, "disk.img"), "/files/kernel.hvt": abs}, false},
		{"no kernel", []string{"--mem=64"}, nil, nil, true},
		{"missing kernel file", []string{"nope.hvt"}, nil, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vm, files, err := execArgs(tt.args, dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if !reflect.DeepEqual(vm, tt.vm) || !reflect.DeepEqual(files, tt.files) {
				t.Errorf("got %q %v, want %q %v", vm, files, tt.vm, tt.files)
			}
		})
	}
}
