package gobuild

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/microguest"
)

// A manifest that declares a name twice never leaves unimon build: not
// from its options, not from a JSON manifest, and its self-check refuses
// such an image too.
func TestDuplicateDeviceNamesRefused(t *testing.T) {
	storage := guestabi.Entry{Name: "storage", Type: guestabi.DeviceBlockBasic}
	img := microguest.ELF(microguest.Guest{Text: make([]byte, 16), Manifest: guestabi.NewManifest(storage, storage)})
	err := CheckLoadable(img)
	if !errors.Is(err, ErrNotLoadable) || !errors.Is(err, guestabi.ErrInvalidManifest) || !strings.Contains(err.Error(), `entries 1 and 2 are both named "storage"`) {
		t.Errorf("CheckLoadable: %v", err)
	}
	if err := CheckLoadable(microguest.ELF(microguest.Guest{Text: make([]byte, 16), Manifest: guestabi.NewManifest(storage)})); err != nil {
		t.Errorf("CheckLoadable, one storage: %v", err)
	}

	json := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(json, []byte(`{"type":"solo5.manifest","version":1,"devices":[{"name":"storage","type":"BLOCK_BASIC"},{"name":"storage","type":"NET_BASIC"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{
		{Block: []string{"storage", "storage"}},
		{Net: []string{"storage"}, Block: []string{"storage"}},
		{Manifest: json},
	} {
		if _, err := manifest(opts); err == nil || !strings.Contains(err.Error(), "declared twice") {
			t.Errorf("manifest(%+v): %v, want a name declared twice", opts, err)
		}
	}
}
