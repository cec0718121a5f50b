/**
 * Byte fixtures written as annotated hex (checksums worked out independently of our encoder).
 * Everything after `#` on a line is a comment; whitespace is ignored.
 */

export function hex(s: string): Buffer {
  const digits = s
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return Buffer.from(digits, 'hex');
}

/** ARP who-has 10.0.0.1 tell 10.0.0.5, broadcast, padded to the 60-byte minimum. */
/** ARP who-has 10.0.0.1 tell 10.0.0.5, broadcast, padded to the 60-byte minimum. */
export const ARP_REQUEST = hex(`
  ff ff ff ff ff ff                                # dst ff:ff:ff:ff:ff:ff
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  08 06                                            # ethertype 0x0806
  00 01                                            # htype 1 (Ethernet)
  08 00                                            # ptype 0x0800 (IPv4)
  06 04                                            # hlen 6, plen 4
  00 01                                            # operation 1 (request)
  52 54 00 12 34 56                                # sender mac 52:54:00:12:34:56
  0a 00 00 05                                      # sender ip 10.0.0.5
  00 00 00 00 00 00                                # target mac 00:00:00:00:00:00
  0a 00 00 01                                      # target ip 10.0.0.1
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # Ethernet padding to 60 bytes (trailer)
  00 00                                            
`);

/** ARP reply 10.0.0.1 is-at fa:16:3e:aa:bb:cc, 802.1Q VLAN 100, no padding. */
export const ARP_REPLY_VLAN = hex(`
  52 54 00 12 34 56                                # dst 52:54:00:12:34:56
  fa 16 3e aa bb cc                                # src fa:16:3e:aa:bb:cc
  81 00 00 64                                      # 802.1Q tpid 0x8100, pcp 0 dei 0 vid 100
  08 06                                            # ethertype 0x0806
  00 01                                            # htype 1
  08 00                                            # ptype IPv4
  06 04                                            # hlen 6, plen 4
  00 02                                            # operation 2 (reply)
  fa 16 3e aa bb cc                                # sender mac fa:16:3e:aa:bb:cc
  0a 00 00 01                                      # sender ip 10.0.0.1
  52 54 00 12 34 56                                # target mac 52:54:00:12:34:56
  0a 00 00 05                                      # target ip 10.0.0.5
`);

/** iputils `ping` echo request 192.168.1.10 -> 192.168.1.1, DF set, 56 data bytes. */
export const PING_REQUEST = hex(`
  fa 16 3e 00 00 01                                # dst fa:16:3e:00:00:01
  fa 16 3e 11 22 33                                # src fa:16:3e:11:22:33
  08 00                                            # ethertype 0x0800
  45 00                                            # version 4, ihl 5, tos 0x00
  00 54                                            # total length 84
  5c 2b                                            # identification 0x5c2b
  40 00                                            # flags/fragment 0x4000
  40 01                                            # ttl 64, protocol 1
  5b 22                                            # header checksum 0x5b22
  c0 a8 01 0a                                      # src 192.168.1.10
  c0 a8 01 01                                      # dst 192.168.1.1
  08 00                                            # icmp type 8 (echo request), code 0
  1b 94                                            # icmp checksum 0x1b94
  1c 46                                            # identifier 0x1c46
  00 01                                            # sequence 1
  5f 5e 6a 65 00 00 00 00 2c 8e 0b 00 00 00 00 00  # data: 16-byte struct timeval then 0x10..0x37 (iputils ping pattern)
  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f  
  20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f  
  30 31 32 33 34 35 36 37                          
`);

/** Router 10.0.0.1 reports TTL exceeded for a traceroute UDP probe (RFC 792 quote: header + 8). */
export const ICMP_TIME_EXCEEDED = hex(`
  52 54 00 12 34 56                                # dst 52:54:00:12:34:56
  fa 16 3e aa bb cc                                # src fa:16:3e:aa:bb:cc
  08 00                                            # ethertype 0x0800
  45 c0                                            # version 4, ihl 5, tos 0xc0
  00 38                                            # total length 56
  00 00                                            # identification 0x0000
  00 00                                            # flags/fragment 0x0000
  40 01                                            # ttl 64, protocol 1
  66 00                                            # header checksum 0x6600
  0a 00 00 01                                      # src 10.0.0.1
  0a 00 00 05                                      # dst 10.0.0.5
  0b 00                                            # icmp type 11 (time exceeded), code 0 (ttl)
  72 56                                            # icmp checksum 0x7256
  00 00 00 00                                      # unused
  45 00 00 3c 7d 2e 00 00 01 11 22 6f 0a 00 00 05 08 08 08 08 # quoted IPv4 header: 10.0.0.5 -> 8.8.8.8 udp, ttl 1, total 60
  b3 c7 82 9a 00 28 4c 1f                          # quoted first 8 bytes: udp 46023 -> 33434 len 40
`);

/** IPv4 with a Router Alert option (94 04 00 00) carrying IGMPv2, padded to 60 bytes. */
export const IGMP_WITH_ROUTER_ALERT = hex(`
  01 00 5e 01 02 03                                # dst 01:00:5e:01:02:03
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  08 00                                            # ethertype 0x0800
  46 c0                                            # version 4, ihl 6, tos 0xc0
  00 20                                            # total length 32
  00 00                                            # identification 0x0000
  40 00                                            # flags/fragment 0x4000
  01 02                                            # ttl 1, protocol 2
  e9 0e                                            # header checksum 0xe90e
  0a 00 00 05                                      # src 10.0.0.5
  ef 01 02 03                                      # dst 239.1.2.3
  94 04 00 00                                      # options
  16 00 f8 fa ef 01 02 03                          # IGMPv2 membership report 239.1.2.3 (protocol 2: undecoded, raw)
  00 00 00 00 00 00 00 00 00 00 00 00 00 00        # Ethernet padding to 60 bytes
`);

/** DNS query for example.com A over UDP with a valid IPv4 pseudo-header checksum. */
export const UDP_DNS_QUERY = hex(`
  fa 16 3e aa bb cc                                # dst fa:16:3e:aa:bb:cc
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  08 00                                            # ethertype 0x0800
  45 00                                            # version 4, ihl 5, tos 0x00
  00 39                                            # total length 57
  12 34                                            # identification 0x1234
  00 00                                            # flags/fragment 0x0000
  40 11                                            # ttl 64, protocol 17
  54 7a                                            # header checksum 0x547a
  0a 00 00 05                                      # src 10.0.0.5
  0a 00 00 02                                      # dst 10.0.0.2
  cf 84 00 35                                      # udp src 53124, dst 53
  00 25                                            # udp length 37
  a0 a8                                            # udp checksum 0xa0a8 (pseudo-header)
  ab cd 01 00 00 01 00 00 00 00 00 00 07 65 78 61  # DNS query example.com A
  6d 70 6c 65 03 63 6f 6d 00 00 01 00 01           
`);

/** UDP over IPv4 with checksum 0 ("no checksum"), padded frame. */
export const UDP_NO_CHECKSUM = hex(`
  fa 16 3e aa bb cc                                # dst fa:16:3e:aa:bb:cc
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  08 00                                            # ethertype 0x0800
  45 00                                            # version 4, ihl 5, tos 0x00
  00 21                                            # total length 33
  00 01                                            # identification 0x0001
  00 00                                            # flags/fragment 0x0000
  40 11                                            # ttl 64, protocol 17
  66 be                                            # header checksum 0x66be
  0a 00 00 05                                      # src 10.0.0.5
  0a 00 00 09                                      # dst 10.0.0.9
  0f a0 13 88 00 0d 00 00                          # udp 4000 -> 5000, length 13, checksum 0 (none, IPv4)
  68 65 6c 6c 6f                                   # "hello"
  00 00 00 00 00 00 00 00 00 00 00 00 00           # Ethernet padding to 60 bytes
`);

/** Linux TCP SYN to port 80 with MSS, SACK-permitted, timestamps, NOP, window scale. */
export const TCP_SYN = hex(`
  fa 16 3e aa bb cc                                # dst fa:16:3e:aa:bb:cc
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  08 00                                            # ethertype 0x0800
  45 00                                            # version 4, ihl 5, tos 0x00
  00 3c                                            # total length 60
  a1 b2                                            # identification 0xa1b2
  40 00                                            # flags/fragment 0x4000
  40 06                                            # ttl 64, protocol 6
  59 2a                                            # header checksum 0x592a
  0a 00 00 05                                      # src 10.0.0.5
  5d b8 d8 22                                      # dst 93.184.216.34
  a1 12 00 50                                      # tcp src 41234, dst 80
  5e 0a 7c 31                                      # seq 0x5e0a7c31
  00 00 00 00                                      # ack 0
  a0 02                                            # data offset 10 (40 bytes), flags SYN
  fa f0                                            # window 64240
  ba f7                                            # checksum 0xbaf7
  00 00                                            # urgent 0
  02 04 05 b4                                      # opt MSS 1460
  04 02                                            # opt SACK permitted
  08 0a 00 12 d6 87 00 00 00 00                    # opt timestamps TSval 0x0012d687 TSecr 0
  01                                               # opt NOP
  03 03 07                                         # opt window scale 7
`);

/** dhclient DHCPDISCOVER (broadcast from 0.0.0.0), options as ISC dhclient sends them, padded to 300 bytes. */
export const DHCP_DISCOVER = hex(`
  ff ff ff ff ff ff                                # dst ff:ff:ff:ff:ff:ff
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  08 00                                            # ethertype 0x0800
  45 10                                            # version 4, ihl 5, tos 0x10
  01 48                                            # total length 328
  00 00                                            # identification 0x0000
  00 00                                            # flags/fragment 0x0000
  40 11                                            # ttl 64, protocol 17
  79 96                                            # header checksum 0x7996
  00 00 00 00                                      # src 0.0.0.0
  ff ff ff ff                                      # dst 255.255.255.255
  00 44 00 43                                      # udp 68 -> 67
  01 34                                            # udp length 308
  16 59                                            # udp checksum 0x1659
  01 01 06 00                                      # op 1 BOOTREQUEST, htype 1, hlen 6, hops 0
  39 03 f3 26                                      # xid 0x3903f326
  00 00 00 00                                      # secs 0, flags 0
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # ciaddr yiaddr siaddr giaddr all 0.0.0.0
  52 54 00 12 34 56 00 00 00 00 00 00 00 00 00 00  # chaddr 52:54:00:12:34:56 + 10 bytes zero
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # sname (64 zero bytes)
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # file (128 zero bytes)
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  63 82 53 63                                      # magic cookie 99.130.83.99
  35 01 01                                         # opt 53 message type 1 (DISCOVER)
  32 04 c0 a8 01 0a                                # opt 50 requested ip 192.168.1.10
  0c 04 76 6d 30 31                                # opt 12 hostname "vm01"
  37 0d 01 1c 02 03 0f 06 77 0c 2c 2f 1a 79 2a     # opt 55 PRL 1 28 2 3 15 6 119 12 44 47 26 121 42
  ff                                               # opt 255 end
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # padding to the 300-byte BOOTP minimum
  00 00 00 00 00 00 00 00 00 00 00 00 00           
`);

/** DHCPACK unicast to 192.168.1.10 with lease, mask, router, DNS, MTU, RFC 3442 option 121, option 33, 119, an unknown option; no padding. */
export const DHCP_ACK_ROUTES = hex(`
  52 54 00 12 34 56                                # dst 52:54:00:12:34:56
  fa 16 3e 00 00 01                                # src fa:16:3e:00:00:01
  08 00                                            # ethertype 0x0800
  45 00                                            # version 4, ihl 5, tos 0x00
  01 a8                                            # total length 424
  00 00                                            # identification 0x0000
  00 00                                            # flags/fragment 0x0000
  40 11                                            # ttl 64, protocol 17
  f5 e9                                            # header checksum 0xf5e9
  c0 a8 01 01                                      # src 192.168.1.1
  c0 a8 01 0a                                      # dst 192.168.1.10
  00 43 00 44                                      # udp 67 -> 68
  01 94                                            # udp length 404
  5a 56                                            # udp checksum 0x5a56
  02 01 06 00                                      # op 2 BOOTREPLY, htype 1, hlen 6, hops 0
  39 03 f3 26                                      # xid 0x3903f326
  00 00 00 00                                      # secs 0, flags 0
  00 00 00 00                                      # ciaddr 0.0.0.0
  c0 a8 01 0a                                      # yiaddr 192.168.1.10
  00 00 00 00 00 00 00 00                          # siaddr giaddr 0.0.0.0
  52 54 00 12 34 56 00 00 00 00 00 00 00 00 00 00  # chaddr 52:54:00:12:34:56
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # sname
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # file
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  
  63 82 53 63                                      # magic cookie
  35 01 05                                         # opt 53 message type 5 (ACK)
  36 04 c0 a8 01 01                                # opt 54 server id 192.168.1.1
  33 04 00 01 51 80                                # opt 51 lease time 86400
  3a 04 00 00 a8 c0                                # opt 58 renewal T1 43200
  3b 04 00 01 27 50                                # opt 59 rebinding T2 75600
  01 04 ff ff ff 00                                # opt 1 subnet mask 255.255.255.0
  1c 04 c0 a8 01 ff                                # opt 28 broadcast 192.168.1.255
  03 04 c0 a8 01 01                                # opt 3 router 192.168.1.1
  06 08 c0 a8 01 01 08 08 08 08                    # opt 6 dns 192.168.1.1, 8.8.8.8
  0f 0b 65 78 61 6d 70 6c 65 2e 6f 72 67           # opt 15 domain name "example.org"
  1a 02 05 dc                                      # opt 26 mtu 1500
  79 26                                            # opt 121 classless routes, length 36 (RFC 3442 section 5 examples):
  10 0a 11 c0 a8 01 01                             #   16.10.17 -> 10.17.0.0/16 via 192.168.1.1
  18 0a 1b 81 c0 a8 01 01                          #   24.10.27.129 -> 10.27.129.0/24 via 192.168.1.1
  19 0a e5 00 80 c0 a8 01 01                       #   25.10.229.0.128 -> 10.229.0.128/25 via 192.168.1.1
  20 0a c6 7a 2f c0 a8 01 01                       #   32.10.198.122.47 -> 10.198.122.47/32 via 192.168.1.1
  00 c0 a8 01 01                                   #   0 -> default 0.0.0.0/0 via 192.168.1.1
  21 10 0a 00 00 00 c0 a8 01 fe ac 10 05 05 c0 a8 01 fd # opt 33 static routes 10.0.0.0 via .254, 172.16.5.5 via .253
  77 12 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 03 63 6f 6d 00 # opt 119 domain search example.org, com (uncompressed)
  e0 03 01 02 03                                   # opt 224 (private use) 01 02 03: unknown, kept raw
  ff                                               # opt 255 end
`);

/** Neighbor Solicitation for fe80::f816:3eff:feaa:bbcc to its solicited-node group, with SLLA option. */
export const ND_NS = hex(`
  33 33 ff aa bb cc                                # dst 33:33:ff:aa:bb:cc
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  86 dd                                            # ethertype 0x86dd
  60 00 00 00                                      # version 6, traffic class 0, flow label 0x00000
  00 20 3a ff                                      # payload length 32, next header 58, hop limit 255
  fe 80 00 00 00 00 00 00 50 54 00 ff fe 12 34 56  # src fe80::5054:ff:fe12:3456
  ff 02 00 00 00 00 00 00 00 00 00 01 ff aa bb cc  # dst ff02::1:ffaa:bbcc
  87 00                                            # icmpv6 type 135 (NS), code 0
  c4 1f                                            # checksum 0xc41f
  00 00 00 00                                      # reserved
  fe 80 00 00 00 00 00 00 f8 16 3e ff fe aa bb cc  # target fe80::f816:3eff:feaa:bbcc
  01 01 52 54 00 12 34 56                          # opt 1 source link-layer address 52:54:00:12:34:56
`);

/** Solicited Neighbor Advertisement answering ND_NS, with TLLA option. */
export const ND_NA = hex(`
  52 54 00 12 34 56                                # dst 52:54:00:12:34:56
  fa 16 3e aa bb cc                                # src fa:16:3e:aa:bb:cc
  86 dd                                            # ethertype 0x86dd
  60 00 00 00                                      # version 6, traffic class 0, flow label 0x00000
  00 20 3a ff                                      # payload length 32, next header 58, hop limit 255
  fe 80 00 00 00 00 00 00 f8 16 3e ff fe aa bb cc  # src fe80::f816:3eff:feaa:bbcc
  fe 80 00 00 00 00 00 00 50 54 00 ff fe 12 34 56  # dst fe80::5054:ff:fe12:3456
  88 00                                            # icmpv6 type 136 (NA), code 0
  be ba                                            # checksum 0xbeba
  60 00 00 00                                      # flags S|O (0x60), reserved
  fe 80 00 00 00 00 00 00 f8 16 3e ff fe aa bb cc  # target fe80::f816:3eff:feaa:bbcc
  02 01 fa 16 3e aa bb cc                          # opt 2 target link-layer address fa:16:3e:aa:bb:cc
`);

/** Router Solicitation to all-routers with SLLA. */
export const ND_RS = hex(`
  33 33 00 00 00 02                                # dst 33:33:00:00:00:02
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  86 dd                                            # ethertype 0x86dd
  60 00 00 00                                      # version 6, traffic class 0, flow label 0x00000
  00 10 3a ff                                      # payload length 16, next header 58, hop limit 255
  fe 80 00 00 00 00 00 00 50 54 00 ff fe 12 34 56  # src fe80::5054:ff:fe12:3456
  ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 02  # dst ff02::2
  85 00                                            # icmpv6 type 133 (RS)
  71 b5                                            # checksum 0x71b5
  00 00 00 00                                      # reserved
  01 01 52 54 00 12 34 56                          # opt 1 SLLA 52:54:00:12:34:56
`);

/** Router Advertisement with SLLA, MTU 1500 and prefix 2001:db8:1::/64 (on-link, autonomous). */
export const ND_RA = hex(`
  33 33 00 00 00 01                                # dst 33:33:00:00:00:01
  fa 16 3e 00 00 01                                # src fa:16:3e:00:00:01
  86 dd                                            # ethertype 0x86dd
  60 00 00 00                                      # version 6, traffic class 0, flow label 0x00000
  00 40 3a ff                                      # payload length 64, next header 58, hop limit 255
  fe 80 00 00 00 00 00 00 f8 16 3e ff fe 00 00 01  # src fe80::f816:3eff:fe00:1
  ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 01  # dst ff02::1
  86 00                                            # icmpv6 type 134 (RA)
  82 ba                                            # checksum 0x82ba
  40 00                                            # cur hop limit 64, flags M=0 O=0
  07 08                                            # router lifetime 1800
  00 00 00 00                                      # reachable time 0
  00 00 00 00                                      # retrans timer 0
  01 01 fa 16 3e 00 00 01                          # opt 1 SLLA fa:16:3e:00:00:01
  05 01 00 00 00 00 05 dc                          # opt 5 MTU 1500
  03 04 40 c0                                      # opt 3 prefix info len 4 (32 bytes), /64, L=1 A=1
  00 27 8d 00 00 09 3a 80                          # valid 2592000, preferred 604800
  00 00 00 00                                      # reserved
  20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 00  # prefix 2001:db8:1::
`);

/** ICMPv6 echo request 2001:db8:1::10 -> 2001:db8:2::1, flow label 0x12345. */
export const ICMPV6_ECHO_REQUEST = hex(`
  fa 16 3e 00 00 01                                # dst fa:16:3e:00:00:01
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  86 dd                                            # ethertype 0x86dd
  60 01 23 45                                      # version 6, traffic class 0, flow label 0x12345
  00 18 3a 40                                      # payload length 24, next header 58, hop limit 64
  20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 10  # src 2001:db8:1::10
  20 01 0d b8 00 02 00 00 00 00 00 00 00 00 00 01  # dst 2001:db8:2::1
  80 00                                            # icmpv6 type 128 (echo request)
  61 54                                            # checksum 0x6154
  0a 0b 00 07                                      # identifier 0x0a0b, sequence 7
  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f  # data 0x10..0x1f
`);

/** UDP over IPv6: a DHCPv6 SOLICIT to ff02::1:2 (payload not decoded). */
export const UDP6_DHCPV6_SOLICIT = hex(`
  33 33 00 01 00 02                                # dst 33:33:00:01:00:02
  52 54 00 12 34 56                                # src 52:54:00:12:34:56
  86 dd                                            # ethertype 0x86dd
  60 00 00 00                                      # version 6, traffic class 0, flow label 0x00000
  00 1e 11 01                                      # payload length 30, next header 17, hop limit 1
  fe 80 00 00 00 00 00 00 50 54 00 ff fe 12 34 56  # src fe80::5054:ff:fe12:3456
  ff 02 00 00 00 00 00 00 00 00 00 00 00 01 00 02  # dst ff02::1:2
  02 22 02 23                                      # udp 546 -> 547
  00 1e                                            # length 30
  ad 29                                            # checksum 0xad29 (IPv6 pseudo-header)
  01 ab cd ef 00 01 00 0e 00 01 00 01 2a 3b 4c 5d  # DHCPv6 SOLICIT with client id (opaque to us)
  52 54 00 12 34 56                                
`);

/** IPv6 with a hop-by-hop extension header (MLDv2 report): payload stays raw. */
export const IPV6_HOP_BY_HOP_MLD = hex(`
  33 33 00 00 00 16                                # dst 33:33:00:00:00:16
  fa 16 3e aa bb cc                                # src fa:16:3e:aa:bb:cc
  86 dd                                            # ethertype 0x86dd
  60 00 00 00                                      # version 6, traffic class 0, flow label 0x00000
  00 24 00 01                                      # payload length 36, next header 0, hop limit 1
  fe 80 00 00 00 00 00 00 f8 16 3e ff fe aa bb cc  # src fe80::f816:3eff:feaa:bbcc
  ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 16  # dst ff02::16
  3a 00 05 02 00 00 01 00                          # hop-by-hop: next 58, len 0, router alert (MLD), padn
  8f 00 c3 04 00 00 00 01                          # MLDv2 report, checksum, reserved, 1 record
  04 00 00 00 ff 02 00 00 00 00 00 00 00 00 00 01 ff aa bb cc # record: change-to-exclude ff02::1:ffaa:bbcc
`);

/** Router 10.0.0.1: fragmentation needed, next-hop MTU 1400, for a 1500-byte DF TCP segment. */
export const ICMP_FRAG_NEEDED = hex(`
  52 54 00 12 34 56                                # dst 52:54:00:12:34:56
  fa 16 3e aa bb cc                                # src fa:16:3e:aa:bb:cc
  08 00                                            # ethertype 0x0800
  45 c0                                            # version 4, ihl 5, tos 0xc0
  00 38                                            # total length 56
  00 00                                            # identification 0x0000
  00 00                                            # flags/fragment 0x0000
  40 01                                            # ttl 64, protocol 1
  66 00                                            # header checksum 0x6600
  0a 00 00 01                                      # src 10.0.0.1
  0a 00 00 05                                      # dst 10.0.0.5
  03 04                                            # icmp type 3 (dest unreachable), code 4 (fragmentation needed)
  7b e4                                            # icmp checksum 0x7be4
  00 00                                            # unused
  05 78                                            # next-hop MTU 1400 (RFC 1191)
  45 00 05 dc be ef 40 00 3f 06 37 4d 0a 00 00 05 5d b8 d8 22 # quoted IPv4 header: 10.0.0.5 -> 93.184.216.34 tcp, DF, total 1500
  a1 12 00 50 5e 0a 7c 32                          # quoted first 8 bytes: tcp 41234 -> 80, seq 0x5e0a7c32
`);

