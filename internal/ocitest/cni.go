package ocitest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/netnstest"
)

// BridgePlugin is where Debian's containernetworking-plugins put the
// CNI bridge plugin.
const BridgePlugin = "/usr/lib/cni/bridge"

// CNINet is what the bridge plugin gave a pod: eth0's address with its
// prefix, the address alone, the gateway (the bridge's address in the
// host namespace) and eth0's MAC.
type CNINet struct {
	Addr, IP, Gateway, MAC string
}

// CNIBridge runs the CNI bridge plugin's ADD for container id, as a CNI
// runtime would: the bridge unimonbr0 (the gateway of subnet, e.g.
// "10.99.7.0/24") and the host end of a veth go in host, eth0 in pod.
// Both namespaces are the test's, so deleting them undoes it all.
func CNIBridge(t testing.TB, ctx context.Context, host, pod *netnstest.NS, id, subnet string) CNINet {
	t.Helper()
	if _, err := os.Stat(BridgePlugin); err != nil {
		t.Fatalf("the CNI plugins are needed (make deps installs containernetworking-plugins): %v", err)
	}
	conf, err := json.Marshal(map[string]any{
		"cniVersion": "0.4.0", "name": "unimon-test", "type": "bridge", "bridge": "unimonbr0",
		"isGateway": true, "isDefaultGateway": true, "ipMasq": false,
		"ipam": map[string]any{"type": "host-local", "subnet": subnet, "dataDir": t.TempDir()},
	})
	if err != nil {
		t.Fatal(err)
	}
	cni := host.Command(ctx, BridgePlugin)
	cni.Env = append(os.Environ(), "CNI_COMMAND=ADD", "CNI_CONTAINERID="+id, "CNI_NETNS="+pod.Path(),
		"CNI_IFNAME=eth0", "CNI_PATH="+filepath.Dir(BridgePlugin))
	cni.Stdin = strings.NewReader(string(conf))
	res, err := cni.Output()
	if err != nil {
		t.Fatalf("CNI bridge ADD: %v\n%s", err, res)
	}
	var result struct {
		IPs []struct{ Address, Gateway string } `json:"ips"`
	}
	if err := json.Unmarshal(res, &result); err != nil || len(result.IPs) != 1 {
		t.Fatalf("CNI result: %v\n%s", err, res)
	}
	n := CNINet{Addr: result.IPs[0].Address, Gateway: result.IPs[0].Gateway}
	n.IP, _, _ = strings.Cut(n.Addr, "/")
	eth0, err := exec.Command("ip", "-n", pod.Name(), "-br", "link", "show", "eth0").Output()
	if err != nil {
		t.Fatal(err)
	}
	n.MAC = strings.Fields(string(eth0))[2]
	return n
}

// CheckUnplugged fails t if the runtime's tap or the ingress qdisc that
// holds its tc redirect filter is still in pod.
func CheckUnplugged(t testing.TB, pod *netnstest.NS) {
	t.Helper()
	links, _ := exec.Command("ip", "-n", pod.Name(), "-o", "link").Output()
	qdiscs, _ := exec.Command("tc", "-n", pod.Name(), "qdisc", "show", "dev", "eth0").Output()
	if strings.Contains(string(links), "unimon-tap") || strings.Contains(string(qdiscs), "ingress") {
		t.Errorf("left in the pod namespace:\n%s\n%s", links, qdiscs)
	}
}
