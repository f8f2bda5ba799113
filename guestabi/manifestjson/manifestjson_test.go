package manifestjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/unimon/unimon/guestabi"
)

func TestParse(t *testing.T) {
	// 64 distinct valid names: one more than a manifest holds.
	var many []string
	for i := 0; i < 64; i++ {
		many = append(many, `{"name":"d`+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26))+`","type":"NET_BASIC"}`)
	}
	for _, c := range []struct {
		name string
		in   string
		want []guestabi.Entry // the user devices, when accepted
		err  string           // a part of the error, when refused
	}{
		{
			name: "two devices",
			in:   `{"type":"solo5.manifest","version":1,"devices":[{"name":"service0","type":"NET_BASIC"},{"name":"storage","type":"BLOCK_BASIC"}]}`,
			want: []guestabi.Entry{{Name: "service0", Type: guestabi.DeviceNetBasic}, {Name: "storage", Type: guestabi.DeviceBlockBasic}},
		},
		{name: "no devices", in: `{"type":"solo5.manifest","version":1,"devices":[]}`, want: []guestabi.Entry{}},
		{name: "wrong type", in: `{"type":"x","version":1,"devices":[]}`, err: `manifest JSON: type is "x", want "solo5.manifest"`},
		{name: "wrong version", in: `{"type":"solo5.manifest","version":2,"devices":[]}`, err: "manifest JSON: version is 2, want 1"},
		{
			name: "bad name",
			in:   `{"type":"solo5.manifest","version":1,"devices":[{"name":"a-b","type":"NET_BASIC"}]}`,
			err:  `manifest JSON: device 0: name "a-b" must be 1 to 67 characters from [A-Za-z0-9]`,
		},
		{
			name: "unknown device type",
			in:   `{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"DISK"}]}`,
			err:  `manifest JSON: device "a": unknown type "DISK" (want BLOCK_BASIC or NET_BASIC)`,
		},
		{
			name: "name twice",
			in:   `{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"NET_BASIC"},{"name":"a","type":"NET_BASIC"}]}`,
			err:  `manifest JSON: device name "a" is declared twice`,
		},
		{name: "unknown field", in: `{"type":"solo5.manifest","version":1,"devices":[],"extra":1}`, err: `manifest JSON: json: unknown field "extra"`},
		{name: "not JSON", in: `type: solo5.manifest`, err: "manifest JSON: invalid character"},
		{
			name: "64 devices",
			in:   `{"type":"solo5.manifest","version":1,"devices":[` + strings.Join(many, ",") + `]}`,
			err:  "manifest JSON: too many entries, maximum 63",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(c.in))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Parse: %v, want an error containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Validate(); err != nil {
				t.Error(err)
			}
			if got := m.Entries[1:]; !reflect.DeepEqual(got, c.want) {
				t.Errorf("devices %+v, want %+v", got, c.want)
			}
			// Back in upstream's format, it reads as it was written.
			if b, err := json.Marshal(From(m)); err != nil || string(b) != c.in {
				t.Errorf("From, as JSON: %s, %v; want %s", b, err, c.in)
			}
		})
	}
}
