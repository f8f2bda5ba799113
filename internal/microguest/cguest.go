package microguest

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/unimon/unimon/guestabi"
)

//go:embed cguest/guest.c
var cGuestSource []byte

//go:embed cguest/guest.ld
var cGuestLinkerScript []byte

// BuildC compiles the C guest (cguest/guest.c) with the host's gcc into a
// Solo5 hvt x86_64 ELF with symbols and DWARF, in dir, and returns its
// path. Unlike the machine-code guests it needs gcc, and it exists for
// tests that need what a C unikernel gives a debugger: function names,
// source lines, globals.
func BuildC(dir string) (string, error) {
	notes := cNotes()
	files := map[string][]byte{"guest.c": cGuestSource, "guest.ld": cGuestLinkerScript, "notes.c": notes}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", err
		}
	}
	out := filepath.Join(dir, "cguest.hvt")
	args := []string{
		"-g", "-O1", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-mno-red-zone",
		// CPL0 code is emulated on nested KVM without SSE.
		"-mgeneral-regs-only", "-fno-omit-frame-pointer", "-fno-asynchronous-unwind-tables",
		"-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-Wl,-z,max-page-size=0x1000",
		fmt.Sprintf("-DPIO_BASE=%#x", guestabi.PIOBase),
		fmt.Sprintf("-DHC_PUTS=%d", guestabi.HypercallPuts),
		fmt.Sprintf("-DHC_HALT=%d", guestabi.HypercallHalt),
		fmt.Sprintf("-DHC_POLL=%d", guestabi.HypercallPoll),
		fmt.Sprintf("-DDEBUG_PORT=%#x", guestabi.DebugTrapPort),
		"-T", filepath.Join(dir, "guest.ld"), "-o", out,
		filepath.Join(dir, "guest.c"), filepath.Join(dir, "notes.c"),
	}
	cmd := exec.Command("gcc", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("gcc: %w: %s", err, b)
	}
	return out, nil
}

// cNotes is a C file defining the Solo5 ABI1 and MFT1 notes (no devices)
// as bytes encoded by guestabi, in the sections the linker script puts in
// PT_NOTEs.
func cNotes() []byte {
	var b strings.Builder
	note := func(section, name string, data []byte) {
		fmt.Fprintf(&b, "__attribute__((section(%q), aligned(8), used)) static const unsigned char %s[] = {", section, name)
		for i, c := range data {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%d", c)
		}
		b.WriteString("};\n")
	}
	abi := guestabi.ABIInfo{Target: guestabi.ABITargetHVT, Version: guestabi.ABIVersion}
	note(".note.solo5.abi", "abi_note", guestabi.EncodeNote(guestabi.NoteABI1, abi.Encode()))
	note(".note.solo5.manifest", "mft_note", guestabi.EncodeNote(guestabi.NoteMFT1, guestabi.NewManifest().Encode()))
	return []byte(b.String())
}
