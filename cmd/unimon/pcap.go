package main

import (
	"fmt"
	"io"
	"os"
)

// openCaptures creates the files of --net-pcap:NAME=FILE, for
// monitor.Config.NetCapture. Frames go straight to the file (no buffer),
// so the capture is whole up to the last frame even when unimon is
// killed.
func openCaptures(o *runOptions) (map[string]io.Writer, error) {
	caps := map[string]io.Writer{}
	for _, name := range keys(o.netPcap) {
		f, err := os.Create(o.netPcap[name])
		if err != nil {
			return caps, fmt.Errorf("--net-pcap:%s: %w", name, err)
		}
		caps[name] = f
	}
	return caps, nil
}

func closeCaptures(caps map[string]io.Writer) {
	for _, w := range caps {
		w.(*os.File).Close()
	}
}
