#!/usr/bin/env bash
# Install the Debian packages Wyvern's tests, sandbox and benchmarks use. Idempotent: installs
# only what is missing. Needs root (apt-get).
set -euo pipefail
packages=(
  openvswitch-switch     # ovsdb-server, ovs-vswitchd, ovs-ofctl (userspace datapath)
  etcd-server etcd-client # the etcd store driver's tests
  python3-openstackclient # the real `openstack` CLI against our API
  iproute2 iputils-ping traceroute tcpdump ethtool iperf3
  iptables               # NAT in the namespace router of bench:dataplane's north-south rows
  busybox                # udhcpc, the DHCP client inside sandbox VMs
  chromium               # the topology page's test (headless, driven by playwright-core)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-host: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
