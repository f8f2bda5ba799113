package ocirt

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/unimon/unimon/ociimage"
)

// Features is what `features` prints: the namespaces and cgroups the
// runtime honours for unikernels (other containers go to runc, which has
// its own), and the annotations it reads.
func Features(version string) features.Features {
	yes := true
	return features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{},
		MountOptions:  []string{},
		Linux: &features.Linux{
			Namespaces: []string{string(specs.NetworkNamespace), string(specs.UTSNamespace), string(specs.IPCNamespace)},
			Cgroup:     &features.Cgroup{V1: &yes, V2: &yes},
		},
		Annotations: map[string]string{
			"org.unimon.runtime.version": version,
		},
		PotentiallyUnsafeConfigAnnotations: []string{ociimage.SettingBlockPrefix},
	}
}
