// Package ociimage writes a unikernel as an OCI image: an image-layout
// tar that `ctr images import`, `podman load` and `docker load` accept,
// whose one layer holds the unikernel ELF and whose config runs it.
//
// The runtime (package ocirt) needs nothing from the image beyond what
// every engine copies into the container's runtime spec: the entrypoint
// names the unikernel in the root filesystem, the command is its default
// arguments, and the unimon settings (org.unimon.* keys) travel as
// environment variables of the same names, because image labels and
// manifest annotations do not reach the runtime spec in containerd,
// podman or Docker. Annotations on the container (ctr, podman and
// Kubernetes pod annotations) override them.
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "crypto/sha256" // go-digest finds its hash through crypto.SHA256
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/unimon/unimon/monitor/guestmem"
)

// KernelPath is where the unikernel lives in the image's root filesystem.
const KernelPath = "/unikernel.hvt"

// The unimon settings, as container annotations or image environment
// variables (see the package comment).
const (
	// SettingPrefix starts every setting's name.
	SettingPrefix = "org.unimon."
	// SettingMemory is the guest memory in MiB when the runtime spec sets
	// no memory limit (the limit wins).
	SettingMemory = "org.unimon.memory"
	// SettingNetArgs chooses how the guest learns its address: "go"
	// (--unimon:ipv4=ADDR/PREFIX --unimon:ipv4-gateway=GW, for Go
	// unikernels built by unimon build), "mirage" (--ipv4=... --ipv4-gateway=...,
	// MirageOS style) or "none". Default: "go" for unikernels built by
	// unimon build, "mirage" for the others.
	SettingNetArgs = "org.unimon.net.args"
	// SettingBlockPrefix + NAME = PATH attaches the unikernel's block
	// device NAME to the file PATH inside the container's root filesystem.
	SettingBlockPrefix = "org.unimon.block."
)

// The styles of SettingNetArgs.
const (
	NetArgsGo     = "go"
	NetArgsMirage = "mirage"
	NetArgsNone   = "none"
)

// ErrSetting reports an org.unimon.* setting that is unknown or whose
// value is malformed.
var ErrSetting = errors.New("invalid unimon setting")

// CheckSetting checks the name and the value's syntax of one setting
// (whether a block device exists is for the runtime to check, against
// the unikernel's manifest).
func CheckSetting(key, value string) error {
	switch {
	case key == SettingMemory:
		if _, err := MemoryBytes(value); err != nil {
			return err
		}
	case key == SettingNetArgs:
		if !slices.Contains([]string{NetArgsGo, NetArgsMirage, NetArgsNone}, value) {
			return fmt.Errorf("%w: %s=%q: want go, mirage or none", ErrSetting, key, value)
		}
	case strings.HasPrefix(key, SettingBlockPrefix):
		if key == SettingBlockPrefix || value == "" {
			return fmt.Errorf("%w: %s=%q: want %sNAME=PATH", ErrSetting, key, value, SettingBlockPrefix)
		}
	default:
		return fmt.Errorf("%w: unknown setting %s (known: %s, %s, %sNAME)", ErrSetting, key,
			SettingMemory, SettingNetArgs, SettingBlockPrefix)
	}
	return nil
}

// MemoryBytes is the guest memory a SettingMemory value asks for: MiB,
// a multiple of 2 from 2 to 4096.
func MemoryBytes(value string) (uint64, error) {
	mib, err := strconv.ParseUint(value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q: want MiB", ErrSetting, SettingMemory, value)
	}
	size, adjusted, err := guestmem.SizeFromMiB(mib)
	if err != nil || adjusted {
		return 0, fmt.Errorf("%w: %s=%q: want an even number of MiB from 2 to 4096", ErrSetting, SettingMemory, value)
	}
	return size, nil
}

// AnnotationRefName and AnnotationImageName name the image in index.json:
// the OCI annotation podman reads, and the one containerd's importer reads.
const (
	AnnotationRefName   = v1.AnnotationRefName
	AnnotationImageName = "io.containerd.image.name"
)

// ErrImage reports an image that cannot be written as asked.
var ErrImage = errors.New("ociimage")

// Image describes the image to write.
type Image struct {
	// Kernel is the unikernel ELF.
	Kernel []byte
	// Arch is the image platform's GOARCH ("amd64", "arm64").
	Arch string
	// Name is the image reference, e.g. "docker.io/library/hello:latest";
	// a name without a registry and tag is completed the way the engines
	// complete it.
	Name string
	// Args are the guest's default arguments (the image's Cmd).
	Args []string
	// Annotations go on the manifest and, as labels, on the config; those
	// named org.unimon.* also go into the environment, where the runtime
	// finds them.
	Annotations map[string]string
}

// NormalizeName completes a short image name to the full reference the
// engines store ("hello" becomes "docker.io/library/hello:latest").
func NormalizeName(name string) (string, error) {
	repo, tag := name, "latest"
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag = name[:i], name[i+1:]
	}
	if repo == "" || tag == "" || strings.ContainsAny(name, " \t\n@") || repo != strings.ToLower(repo) {
		return "", fmt.Errorf("%w: image name %q: want NAME[:TAG], the name in lower case", ErrImage, name)
	}
	first, _, hasSlash := strings.Cut(repo, "/")
	switch {
	case !hasSlash:
		repo = "docker.io/library/" + repo
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		repo = "docker.io/" + repo
	}
	return repo + ":" + tag, nil
}

// blob is one content-addressed file of the layout.
type blob struct {
	desc v1.Descriptor
	data []byte
}

func newBlob(mediaType string, data []byte) blob {
	return blob{desc: v1.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}, data: data}
}

func jsonBlob(mediaType string, v any) (blob, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return blob{}, fmt.Errorf("%w: %w", ErrImage, err)
	}
	return newBlob(mediaType, data), nil
}

func (b blob) path() string {
	return "blobs/" + b.desc.Digest.Algorithm().String() + "/" + b.desc.Digest.Encoded()
}

// epoch is the time stamp of every file, so that packing the same kernel
// twice gives the same image digest.
var epoch = time.Unix(0, 0).UTC()

// layer returns the uncompressed and gzip-compressed layer tar.
func layer(kernel []byte) (diff, compressed []byte, err error) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	hdr := &tar.Header{Name: strings.TrimPrefix(KernelPath, "/"), Mode: 0o755, Size: int64(len(kernel)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, nil, err
	}
	if _, err := tw.Write(kernel); err != nil {
		return nil, nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, nil, err
	}
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		return nil, nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	return tb.Bytes(), gb.Bytes(), nil
}

// dockerManifest is one entry of the manifest.json `docker save` writes;
// docker load (before Docker 25) reads only this, the others read index.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Write writes img to w as an OCI image-layout tar that also carries
// Docker's manifest.json, so that every engine can load the same file.
func Write(w io.Writer, img Image) error {
	if len(img.Kernel) == 0 {
		return fmt.Errorf("%w: no kernel", ErrImage)
	}
	name, err := NormalizeName(img.Name)
	if err != nil {
		return err
	}
	diff, compressed, err := layer(img.Kernel)
	if err != nil {
		return fmt.Errorf("%w: layer: %w", ErrImage, err)
	}
	lay := newBlob(v1.MediaTypeImageLayerGzip, compressed)

	cfg := v1.Image{
		Created:  &epoch,
		Platform: v1.Platform{OS: "linux", Architecture: img.Arch},
		Config: v1.ImageConfig{
			Entrypoint: []string{KernelPath},
			Cmd:        img.Args,
			Labels:     img.Annotations,
		},
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(diff)}},
		History: []v1.History{{Created: &epoch, CreatedBy: "unimon pack"}},
	}
	for _, k := range slices.Sorted(maps.Keys(img.Annotations)) {
		if strings.HasPrefix(k, SettingPrefix) {
			if err := CheckSetting(k, img.Annotations[k]); err != nil {
				return fmt.Errorf("%w: %w", ErrImage, err)
			}
			cfg.Config.Env = append(cfg.Config.Env, k+"="+img.Annotations[k])
		}
	}
	conf, err := jsonBlob(v1.MediaTypeImageConfig, cfg)
	if err != nil {
		return err
	}
	man, err := jsonBlob(v1.MediaTypeImageManifest, v1.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   v1.MediaTypeImageManifest,
		Config:      conf.desc,
		Layers:      []v1.Descriptor{lay.desc},
		Annotations: img.Annotations,
	})
	if err != nil {
		return err
	}
	top := man.desc
	top.Platform = &cfg.Platform
	top.Annotations = map[string]string{AnnotationRefName: name, AnnotationImageName: name}
	index, err := json.Marshal(v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{top}})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrImage, err)
	}
	layout, err := json.Marshal(v1.ImageLayout{Version: v1.ImageLayoutVersion})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrImage, err)
	}
	docker, err := json.Marshal([]dockerManifest{{Config: conf.path(), RepoTags: []string{dockerTag(name)}, Layers: []string{lay.path()}}})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrImage, err)
	}

	files := map[string][]byte{
		v1.ImageLayoutFile: layout,
		"index.json":       index,
		"manifest.json":    docker,
		conf.path():        conf.data,
		man.path():         man.data,
		lay.path():         lay.data,
	}
	tw := tar.NewWriter(w)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}); err != nil {
			return fmt.Errorf("%w: %w", ErrImage, err)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		data := files[p]
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("%w: %w", ErrImage, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("%w: %w", ErrImage, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrImage, err)
	}
	return nil
}

// dockerTag drops the docker.io/library/ prefix Docker does not store.
func dockerTag(name string) string {
	if rest, ok := strings.CutPrefix(name, "docker.io/library/"); ok {
		return rest
	}
	return strings.TrimPrefix(name, "docker.io/")
}
