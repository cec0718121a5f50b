/**
 * Checked decoders of the north-bound records (shapes in records.ts, chassis.ts). TypeScript
 * checks that each decoder yields its record type, so a field added to a record without a decoder
 * entry is a build error.
 */
import type { ChassisRecord } from './chassis.js';
import {
  anyObject,
  array,
  bool,
  dictOf,
  int,
  nullable,
  object,
  oneOf,
  str,
  withDefault,
  type Decoder,
} from './decode.js';
import type {
  FloatingIpRecord,
  NetworkRecord,
  PortRecord,
  RouterRecord,
  SecurityGroupRecord,
  SecurityGroupRuleRecord,
  StandardRecord,
  SubnetRecord,
} from './records.js';

const key = int(1, 0xffffffff);

const standard = {
  id: str,
  name: str,
  description: str,
  project_id: str,
  tags: array(str),
  created_at: str,
  updated_at: str,
  revision_number: int(0),
} as const;

export const standardRecord: Decoder<StandardRecord> = object(standard);

const hostRoute = object({ destination: str, nexthop: str });

export const networkRecord: Decoder<NetworkRecord> = object({
  ...standard,
  admin_state_up: bool,
  status: oneOf(['ACTIVE', 'DOWN', 'BUILD', 'ERROR']),
  shared: bool,
  'router:external': bool,
  mtu: int(0),
  port_security_enabled: bool,
  'provider:network_type': oneOf(['geneve', 'vxlan', 'vlan', 'flat', 'local']),
  'provider:physical_network': nullable(str),
  'provider:segmentation_id': nullable(int(0)),
  key,
});

export const subnetRecord: Decoder<SubnetRecord> = object({
  ...standard,
  network_id: str,
  ip_version: oneOf([4, 6]),
  cidr: str,
  gateway_ip: nullable(str),
  allocation_pools: array(object({ start: str, end: str })),
  enable_dhcp: bool,
  dns_nameservers: array(str),
  host_routes: array(hostRoute),
  ipv6_ra_mode: nullable(str),
  ipv6_address_mode: nullable(str),
  subnetpool_id: withDefault(nullable(str), null),
});

export const portRecord: Decoder<PortRecord> = object({
  ...standard,
  network_id: str,
  admin_state_up: bool,
  status: oneOf(['ACTIVE', 'DOWN', 'BUILD', 'ERROR']),
  mac_address: str,
  fixed_ips: array(object({ subnet_id: str, ip_address: str })),
  device_id: str,
  device_owner: str,
  allowed_address_pairs: array(object({ ip_address: str, mac_address: str })),
  extra_dhcp_opts: array(object({ opt_name: str, opt_value: str, ip_version: oneOf([4, 6]) })),
  security_groups: array(str),
  port_security_enabled: bool,
  'binding:host_id': str,
  'binding:vif_type': str,
  'binding:vif_details': anyObject,
  'binding:vnic_type': str,
  'binding:profile': anyObject,
  key,
});

export const routerRecord: Decoder<RouterRecord> = object({
  ...standard,
  admin_state_up: bool,
  status: oneOf(['ACTIVE', 'DOWN', 'ERROR']),
  distributed: bool,
  external_gateway_info: nullable(
    object({
      network_id: str,
      enable_snat: bool,
      external_fixed_ips: array(object({ subnet_id: str, ip_address: str })),
    }),
  ),
  routes: array(hostRoute),
  gw_port_id: nullable(str),
  key,
});

export const floatingIpRecord: Decoder<FloatingIpRecord> = object({
  ...standard,
  floating_network_id: str,
  floating_ip_address: str,
  subnet_id: str,
  port_id: nullable(str),
  fixed_ip_address: nullable(str),
  router_id: nullable(str),
  status: oneOf(['ACTIVE', 'DOWN', 'ERROR']),
  floating_port_id: str,
  // 0: written before floating IPs carried their port's key (such a floating IP is not translated).
  key: withDefault(int(0, 0xffffffff), 0),
});

export const securityGroupRecord: Decoder<SecurityGroupRecord> = object({
  ...standard,
  stateful: bool,
  key,
});

export const securityGroupRuleRecord: Decoder<SecurityGroupRuleRecord> = object({
  ...standard,
  security_group_id: str,
  direction: oneOf(['ingress', 'egress']),
  ethertype: oneOf(['IPv4', 'IPv6']),
  protocol: nullable(str),
  protocol_number: nullable(int(0, 255)),
  port_range_min: nullable(int(0, 65535)),
  port_range_max: nullable(int(0, 65535)),
  remote_ip_prefix: nullable(str),
  remote_group_id: nullable(str),
  remote_address_group_id: withDefault(nullable(str), null) as Decoder<null>,
  key,
});

export const chassisRecord: Decoder<ChassisRecord> = object({
  name: str,
  hostname: str,
  tunnel_ip: str,
  encap: array(oneOf(['geneve', 'vxlan'])),
  bridge_mappings: dictOf(str),
  gateway: bool,
  l3_mode: oneOf(['proactive', 'reactive']),
  version: str,
  started_at: str,
});
