package ocirt_test

import (
	"fmt"
	"os"

	"github.com/unimon/unimon/ocirt"
)

// The lifecycle the engines drive, in-process. In unimon-runtime the
// holder is this binary re-executed; an embedder's main must dispatch
// ocirt.HolderCommand to ocirt.Holder the same way.
func ExampleRuntime() {
	rt := &ocirt.Runtime{Root: "/run/unimon-runtime"}
	err := rt.Create(ocirt.CreateOptions{ID: "hello", Bundle: "/path/to/bundle", PidFile: "/path/to/pid",
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	if err == nil {
		err = rt.Start("hello")
	}
	if st, serr := rt.State("hello"); serr == nil {
		fmt.Println(st.Status)
	}
	fmt.Println(err)
}
