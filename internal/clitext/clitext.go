// Package clitext is the text unimon's commands share, in whichever
// binary they run (cmd/unimon, and cmd/unimon-build for build, test, pack
// and info): messages that stay on one line, the hints that go with them,
// and Fail, which prints them.
package clitext

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/unimon/unimon/monitor/elfload"
)

// NotSolo5Hint follows an error wrapping elfload.ErrNoABINote: the file
// is an ELF, but not one built for Solo5.
const NotSolo5Hint = "Not a Solo5 unikernel: built with plain go build? Use unimon build."

// OneLine formats like fmt.Sprintf. The arguments it echoes come from the
// command line, so control characters in the result are escaped: the
// message stays one line whatever was typed (found by FuzzParseRunArgs).
func OneLine(format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	var b strings.Builder
	for _, r := range msg {
		if unicode.IsControl(r) {
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Fail prints err as the commands' one line, "unimon: " and the error
// (OneLine, so it stays one line), then hint on a line of its own if
// there is one, and returns the exit status for a failure, 1.
func Fail(w io.Writer, err error, hint string) int {
	fmt.Fprintf(w, "unimon: %s\n", OneLine("%v", err))
	if hint != "" {
		fmt.Fprintln(w, hint)
	}
	return 1
}

// KernelHint is the hint for an error reading a unikernel file:
// NotSolo5Hint for an ELF without Solo5's notes, else none.
func KernelHint(err error) string {
	if errors.Is(err, elfload.ErrNoABINote) {
		return NotSolo5Hint
	}
	return ""
}
