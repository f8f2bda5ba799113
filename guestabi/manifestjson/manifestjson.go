// Package manifestjson reads upstream Solo5's JSON manifest source format,
// as `solo5-elftool gen-manifest` does, into a guestabi.Manifest, and
// writes a manifest back in it.
//
// It lives apart from guestabi so that the monitor, which reads only the
// binary manifest note, does not link encoding/json: every package a
// program links runs its initialisation at start-up, which costs the
// CLI memory on every run.
package manifestjson

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/unimon/unimon/guestabi"
)

// Manifest is upstream's manifest source format, as solo5-elftool
// gen-manifest reads it:
//
//	{"type":"solo5.manifest","version":1,"devices":[{"name":"service0","type":"NET_BASIC"}]}
type Manifest struct {
	Type    string   `json:"type"`
	Version int      `json:"version"`
	Devices []Device `json:"devices"`
}

// Device is one device of Manifest.
type Device struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Parse parses and checks upstream's JSON manifest format.
func Parse(data []byte) (*guestabi.Manifest, error) {
	var src Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&src); err != nil {
		return nil, fmt.Errorf("manifest JSON: %w", err)
	}
	if src.Type != "solo5.manifest" {
		return nil, fmt.Errorf("manifest JSON: type is %q, want \"solo5.manifest\"", src.Type)
	}
	if src.Version != guestabi.ManifestVersion {
		return nil, fmt.Errorf("manifest JSON: version is %d, want %d", src.Version, guestabi.ManifestVersion)
	}
	if len(src.Devices) > guestabi.ManifestMaxDevices {
		return nil, fmt.Errorf("manifest JSON: too many entries, maximum %d", guestabi.ManifestMaxDevices)
	}
	var devs []guestabi.Entry
	seen := map[string]bool{}
	for i, d := range src.Devices {
		if !guestabi.ValidDeviceName(d.Name) {
			return nil, fmt.Errorf("manifest JSON: device %d: name %q must be 1 to %d characters from [A-Za-z0-9]", i, d.Name, guestabi.DeviceNameMax)
		}
		if seen[d.Name] {
			return nil, fmt.Errorf("manifest JSON: device name %q is declared twice", d.Name)
		}
		seen[d.Name] = true
		var t guestabi.DeviceType
		switch d.Type {
		case "BLOCK_BASIC":
			t = guestabi.DeviceBlockBasic
		case "NET_BASIC":
			t = guestabi.DeviceNetBasic
		default:
			return nil, fmt.Errorf("manifest JSON: device %q: unknown type %q (want BLOCK_BASIC or NET_BASIC)", d.Name, d.Type)
		}
		devs = append(devs, guestabi.Entry{Name: d.Name, Type: t})
	}
	return guestabi.NewManifest(devs...), nil
}

// From returns m's user devices in upstream's JSON manifest format.
func From(m *guestabi.Manifest) Manifest {
	out := Manifest{Type: "solo5.manifest", Version: guestabi.ManifestVersion, Devices: []Device{}}
	for i := 1; i < len(m.Entries); i++ {
		e := m.Entries[i]
		out.Devices = append(out.Devices, Device{Name: e.Name, Type: e.Type.String()})
	}
	return out
}
