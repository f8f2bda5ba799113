// Package clitext is the text unimon's commands share, in whichever
// binary they run (cmd/unimon, and cmd/unimon-build for build, test and
// pack): messages that stay on one line and the hints that go with them.
package clitext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
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
