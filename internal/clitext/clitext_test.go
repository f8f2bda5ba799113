package clitext

import "testing"

func TestOneLine(t *testing.T) {
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"pack: --mem %s", []any{"3"}, "pack: --mem 3"},
		{"flag %s", []any{"-x\nTry"}, `flag -x\nTry`},
		{"%s", []any{"tab\there\x00\x7f"}, `tab\there\x00\x7f`},
		{"%q", []any{"é\r"}, `"é\r"`},
	}
	for _, tt := range tests {
		if got := OneLine(tt.format, tt.args...); got != tt.want {
			t.Errorf("OneLine(%q, %q) = %q, want %q", tt.format, tt.args, got, tt.want)
		}
	}
}
