/**
 * Complete north-bound records for tests that write the store directly (the controller decodes
 * every record it keeps with a checked decoder, so partial fixtures would be refused).
 */
import type {
  NetworkRecord,
  PortRecord,
  RouterRecord,
  SecurityGroupRecord,
  SecurityGroupRuleRecord,
  SubnetRecord,
} from '../../src/model/records.js';

const T = '2026-01-01T00:00:00Z';
let nextKey = 1;
const key = (): number => nextKey++;

function standard(id: string, name = id) {
  return { id, name, description: '', project_id: 'p', tags: [], created_at: T, updated_at: T, revision_number: 0 };
}

export function networkRec(id: string, extra: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    ...standard(id),
    admin_state_up: true,
    status: 'ACTIVE',
    shared: false,
    'router:external': false,
    mtu: 1442,
    port_security_enabled: true,
    'provider:network_type': 'geneve',
    'provider:physical_network': null,
    'provider:segmentation_id': 1000 + key(),
    key: key(),
    ...extra,
  };
}

export function subnetRec(id: string, networkId: string, cidr = '10.0.0.0/24', extra: Partial<SubnetRecord> = {}): SubnetRecord {
  return {
    ...standard(id),
    network_id: networkId,
    ip_version: 4,
    cidr,
    gateway_ip: null,
    allocation_pools: [],
    enable_dhcp: true,
    dns_nameservers: [],
    host_routes: [],
    ipv6_ra_mode: null,
    ipv6_address_mode: null,
    subnetpool_id: null,
    ...extra,
  };
}

export function portRec(id: string, networkId: string, extra: Partial<PortRecord> = {}): PortRecord {
  const k = key();
  return {
    ...standard(id),
    network_id: networkId,
    admin_state_up: true,
    status: 'DOWN',
    mac_address: `fa:16:3e:00:${((k >> 8) & 0xff).toString(16).padStart(2, '0')}:${(k & 0xff).toString(16).padStart(2, '0')}`,
    fixed_ips: [],
    device_id: '',
    device_owner: 'compute:nova',
    allowed_address_pairs: [],
    extra_dhcp_opts: [],
    security_groups: [],
    port_security_enabled: true,
    'binding:host_id': '',
    'binding:vif_type': 'unbound',
    'binding:vif_details': {},
    'binding:vnic_type': 'normal',
    'binding:profile': {},
    key: k,
    ...extra,
  };
}

export function routerRec(id: string, extra: Partial<RouterRecord> = {}): RouterRecord {
  return {
    ...standard(id),
    admin_state_up: true,
    status: 'ACTIVE',
    distributed: true,
    external_gateway_info: null,
    routes: [],
    gw_port_id: null,
    key: key(),
    ...extra,
  };
}

export function groupRec(id: string, extra: Partial<SecurityGroupRecord> = {}): SecurityGroupRecord {
  return { ...standard(id), stateful: true, key: key(), ...extra };
}

export function ruleRec(id: string, groupId: string, extra: Partial<SecurityGroupRuleRecord> = {}): SecurityGroupRuleRecord {
  return {
    ...standard(id, ''),
    security_group_id: groupId,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: null,
    protocol_number: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null,
    remote_address_group_id: null,
    key: key(),
    ...extra,
  };
}
