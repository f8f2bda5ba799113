package ociimage_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/unimon/unimon/ociimage"
)

func TestNormalizeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"hello", "docker.io/library/hello:latest"},
		{"hello:v1", "docker.io/library/hello:v1"},
		{"me/hello", "docker.io/me/hello:latest"},
		{"localhost/hello", "localhost/hello:latest"},
		{"reg.example:5000/a/b:t", "reg.example:5000/a/b:t"},
		{"Hello", ""},
		{"", ""},
		{"a b", ""},
		{"hello:", ""},
	}
	for _, tc := range cases {
		got, err := ociimage.NormalizeName(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ociimage.ErrImage) {
				t.Errorf("%q: %q, %v, want ErrImage", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

// readTar returns the files of an image tar by name.
func readTar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name] = data
	}
}

func unmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// TestWrite reads an image back through the layout: index, manifest,
// config, layer; Docker's manifest.json names the same blobs; writing
// twice gives the same bytes.
func TestWrite(t *testing.T) {
	kernel := []byte("\x7fELF not really, but the layer does not care")
	img := ociimage.Image{Kernel: kernel, Arch: "amd64", Name: "hello", Args: []string{"a", "b"},
		Annotations: map[string]string{"org.unimon.memory": "64", "com.example": "x"}}
	var out, again bytes.Buffer
	if err := ociimage.Write(&out, img); err != nil {
		t.Fatal(err)
	}
	if err := ociimage.Write(&again, img); err != nil || !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Fatalf("not reproducible (%v)", err)
	}
	files := readTar(t, out.Bytes())
	var layout v1.ImageLayout
	unmarshal(t, files["oci-layout"], &layout)
	var index v1.Index
	unmarshal(t, files["index.json"], &index)
	if layout.Version != v1.ImageLayoutVersion || len(index.Manifests) != 1 {
		t.Fatalf("layout %+v index %+v", layout, index)
	}
	top := index.Manifests[0]
	if top.Annotations[v1.AnnotationRefName] != "docker.io/library/hello:latest" || top.Platform.Architecture != "amd64" {
		t.Errorf("index entry %+v", top)
	}
	blob := func(d v1.Descriptor) []byte {
		b, ok := files["blobs/sha256/"+d.Digest.Encoded()]
		if !ok || int64(len(b)) != d.Size || d.Digest.Validate() != nil || d.Digest.Algorithm().FromBytes(b) != d.Digest {
			t.Fatalf("blob %s missing or corrupt", d.Digest)
		}
		return b
	}
	var m v1.Manifest
	unmarshal(t, blob(top), &m)
	var cfg v1.Image
	unmarshal(t, blob(m.Config), &cfg)
	if !slices.Equal(cfg.Config.Entrypoint, []string{ociimage.KernelPath}) || !slices.Equal(cfg.Config.Cmd, img.Args) ||
		!slices.Equal(cfg.Config.Env, []string{"org.unimon.memory=64"}) || cfg.Config.Labels["com.example"] != "x" ||
		m.Annotations["com.example"] != "x" {
		t.Errorf("config %+v, manifest annotations %v", cfg.Config, m.Annotations)
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob(m.Layers[0])))
	if err != nil {
		t.Fatal(err)
	}
	diff, _ := io.ReadAll(zr)
	if cfg.RootFS.DiffIDs[0] != cfg.RootFS.DiffIDs[0].Algorithm().FromBytes(diff) {
		t.Errorf("diff ID does not match the layer")
	}
	layer := readTar(t, diff)
	if !bytes.Equal(layer["unikernel.hvt"], kernel) {
		t.Errorf("layer files %v", slices.Collect(maps.Keys(layer)))
	}
	var docker []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	unmarshal(t, files["manifest.json"], &docker)
	if len(docker) != 1 || docker[0].Config != "blobs/sha256/"+m.Config.Digest.Encoded() ||
		!slices.Equal(docker[0].RepoTags, []string{"hello:latest"}) || docker[0].Layers[0] != "blobs/sha256/"+m.Layers[0].Digest.Encoded() {
		t.Errorf("manifest.json %+v", docker)
	}
}

func TestWriteErrors(t *testing.T) {
	cases := []ociimage.Image{
		{Name: "x"},
		{Kernel: []byte{1}, Name: "UPPER"},
		{Kernel: []byte{1}, Name: "x", Annotations: map[string]string{"org.unimon.typo": "1"}},
		{Kernel: []byte{1}, Name: "x", Annotations: map[string]string{"org.unimon.memory": "3"}},
	}
	for _, img := range cases {
		if err := ociimage.Write(io.Discard, img); !errors.Is(err, ociimage.ErrImage) {
			t.Errorf("%+v: %v, want ErrImage", img, err)
		}
	}
}

func TestCheckSetting(t *testing.T) {
	cases := []struct {
		k, v string
		ok   bool
	}{
		{"org.unimon.memory", "64", true},
		{"org.unimon.memory", "63", false},
		{"org.unimon.memory", "8192", false},
		{"org.unimon.memory", "x", false},
		{"org.unimon.net.args", "go", true},
		{"org.unimon.net.args", "mirage", true},
		{"org.unimon.net.args", "none", true},
		{"org.unimon.net.args", "", false},
		{"org.unimon.block.disk", "/d.img", true},
		{"org.unimon.block.", "/d.img", false},
		{"org.unimon.block.disk", "", false},
		{"org.unimon.other", "1", false},
	}
	for _, tc := range cases {
		err := ociimage.CheckSetting(tc.k, tc.v)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ociimage.ErrSetting) {
			t.Errorf("%s=%q: %v", tc.k, tc.v, err)
		}
	}
}
