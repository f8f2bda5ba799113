package monitor

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// checkNil refuses nil devices and a typed-nil console. A nil pointer in
// an interface (a `var t *devices.Tap` that was never opened) is not ==
// nil, so without this the first method call on it would panic inside
// New or, worse, inside Run.
func checkNil(cfg Config) error {
	if cfg.Console != nil && isNil(cfg.Console) {
		return fmt.Errorf("%w: Console is a nil %T (leave it nil to discard the output)", ErrConfig, cfg.Console)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Block)) {
		if b := cfg.Block[name]; isNil(b) {
			return fmt.Errorf("%w: Block[%q] is %s", ErrConfig, name, nilName(b))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Net)) {
		if n := cfg.Net[name]; isNil(n) {
			return fmt.Errorf("%w: Net[%q] is %s", ErrConfig, name, nilName(n))
		}
	}
	return nil
}

func nilName(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("a nil %T", v)
}

// isNil reports whether v is nil or holds a nil pointer, map, slice,
// function or channel.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}
