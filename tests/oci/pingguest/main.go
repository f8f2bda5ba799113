//go:build linux && amd64

// Command pingguest is the Go unikernel of the OCI network test: on its
// net device "service0" it answers ARP requests for its address and ICMP
// echo requests, over raw frames (no TCP/IP stack), decoded and built
// with gopacket. Its address comes as MirageOS-style --ipv4=ADDR/PREFIX,
// which unimon-runtime passes from the container's eth0.
package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/unimon/unimon/bindings"
)

const device = "service0"

func main() {
	var ip net.IP
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "--ipv4="); ok {
			addr, _, err := net.ParseCIDR(v)
			if err != nil {
				fail("bad %s: %v", a, err)
			}
			ip = addr.To4()
		}
	}
	if ip == nil {
		fail("no --ipv4=ADDR/PREFIX in %q", os.Args[1:])
	}
	nic, err := bindings.OpenNet(device)
	if err != nil {
		fail("open %s: %v", device, err)
	}
	m, mtu, err := bindings.NetInfo(device)
	if err != nil {
		fail("%s: %v", device, err)
	}
	mac := net.HardwareAddr(m[:])
	fmt.Printf("pingguest: %s at %s, args %q\n", ip, mac, os.Args[1:])
	frame := make([]byte, mtu+14)
	for {
		n, err := nic.Read(frame)
		if err != nil {
			fail("read: %v", err)
		}
		if reply := answer(gopacket.NewPacket(frame[:n], layers.LayerTypeEthernet, gopacket.Default), mac, ip); reply != nil {
			if _, err := nic.Write(reply); err != nil {
				fail("write: %v", err)
			}
		}
	}
}

// answer returns the reply to an ARP request or ICMP echo request for ip,
// or nil.
func answer(p gopacket.Packet, mac net.HardwareAddr, ip net.IP) []byte {
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return nil
	}
	out := &layers.Ethernet{SrcMAC: mac, DstMAC: eth.SrcMAC, EthernetType: eth.EthernetType}
	if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		if arp.Operation != layers.ARPRequest || !net.IP(arp.DstProtAddress).Equal(ip) {
			return nil
		}
		return serialize(out, &layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPReply,
			SourceHwAddress: mac, SourceProtAddress: ip,
			DstHwAddress: arp.SourceHwAddress, DstProtAddress: arp.SourceProtAddress,
		})
	}
	ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	icmp, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ip4 == nil || icmp == nil || !ip4.DstIP.Equal(ip) || icmp.TypeCode.Type() != layers.ICMPv4TypeEchoRequest {
		return nil
	}
	return serialize(out,
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: ip, DstIP: ip4.SrcIP},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: icmp.Id, Seq: icmp.Seq},
		gopacket.Payload(icmp.Payload))
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		fail("serialize: %v", err)
	}
	return buf.Bytes()
}

func fail(format string, args ...any) {
	fmt.Printf("pingguest: "+format+"\n", args...)
	os.Exit(1)
}
