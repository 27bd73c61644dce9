#!/usr/bin/python3
"""Writes in.pcap: the traffic a user would capture on node-a (scapy, from Debian's python3-scapy)."""
import sys
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, ARP, Dot1Q, wrpcap

ROUTER = "02:00:00:00:00:99"   # the gateway MAC pods see
ETH0 = "02:00:00:00:0a:01"     # node-a's uplink
WEB = "02:11:22:33:44:55"      # any MAC: pods are recognised by their source address
GW = "02:00:00:00:00:fe"

pkts = [
    # web → db on node-b (native routing toward node-b)
    Ether(src=WEB, dst=ROUTER) / IP(src="198.18.100.10", dst="198.18.101.20") / TCP(sport=40000, dport=5432, flags="S"),
    Ether(src=WEB, dst=ROUTER) / IPv6(src="fd00:a::10", dst="fd00:b::20") / UDP(sport=5353, dport=53),
    # outside → web, once tagged with VLAN 7 on the uplink
    Ether(src=GW, dst=ETH0) / Dot1Q(vlan=7) / IP(src="198.19.1.1", dst="198.18.100.10") / ICMP(),
    Ether(src=GW, dst=ETH0) / IPv6(src="2001:db8:9::1", dst="fd00:a::10") / ICMPv6EchoRequest(),
    # web resolves its gateway
    Ether(src=WEB, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=WEB, psrc="198.18.100.10", pdst="198.18.100.1"),
    # drops: spoofed source from the pod, TTL expiry, nobody home in the pod CIDR, a bad IPv4 checksum
    Ether(src=WEB, dst=ROUTER) / IP(src="198.18.100.99", dst="198.19.1.1") / UDP(),
    Ether(src=GW, dst=ETH0) / IP(src="198.19.1.1", dst="198.18.100.10", ttl=1) / UDP(),
    Ether(src=GW, dst=ETH0) / IP(src="198.19.1.1", dst="198.18.100.77") / TCP(dport=80),
    Ether(src=GW, dst=ETH0) / IP(src="198.19.1.1", dst="198.18.100.10", chksum=0x1234) / UDP(),
    # policy (config/policy.yaml): web may not open HTTPS to the outside world
    Ether(src=WEB, dst=ROUTER) / IP(src="198.18.100.10", dst="198.19.1.1") / TCP(sport=40001, dport=443, flags="S"),
]
for i, p in enumerate(pkts):
    p.time = 1764150000 + i / 1000
wrpcap(sys.argv[1] if len(sys.argv) > 1 else "in.pcap", pkts)
