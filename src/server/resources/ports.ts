/**
 * ports: MAC and IP allocation, binding, security (groups, port security, address pairs),
 * extra DHCP options, and the small integer OpenFlow key.
 */
import { cidrContains, parseCidr, parseIp, usableRange } from '../../model/ip-address.js';
import { defaultSecurityGroupKey, MAX_PORT_KEY, ipKey, macKey, networkGuardKey, PORT_KEY_HINT, PORT_KEY_PREFIX, PORTS_PREFIX, portKeyKey, resourceKey, SUBNETS_PREFIX } from '../../model/keys.js';
import type { AllowedAddressPair, ExtraDhcpOpt, FixedIp, NetworkRecord, PortRecord, StandardRecord, SubnetRecord } from '../../model/records.js';
import { anyDict, bool, dict, int, ipOrCidr, ipAddress, listOf, macAddress, oneOf, standardAttributes, str, uuid } from '../attributes.js';
import type { RequestContext } from '../context.js';
import {
  AddressPairAndPortSecurityRequired,
  BadRequest,
  InvalidInput,
  InvalidIpForNetwork,
  InvalidIpForSubnet,
  IpAddressGenerationFailure,
  PolicyNotAuthorized,
  PortNotFound,
  PortSecurityAndIPRequiredForSecurityGroups,
  PortSecurityPortHasSecurityGroup,
  RetryLimitExceeded,
} from '../errors.js';
import { allocateHinted, allocateIp, claimIp, claimMac, eui64Address, generateMac, ipCandidate, nextHinted, randomMac, releaseIp, releaseMac } from '../ipam.js';
import type { PluginFactory, ResourcePlugin, ServerEnv } from '../registry.js';
import type { Tx } from '../tx.js';
import { quotaKey } from '../quotas.js';
import { isRouterInterface } from '../../model/subjects.js';
import { loadNetwork, networkUsable } from './networks.js';
import { isAutoAddressSubnet, loadSubnet, subnetsOfNetwork } from './subnets.js';

const VNIC_TYPES = ['normal', 'direct', 'macvtap', 'baremetal', 'direct-physical', 'virtio-forwarder', 'smart-nic', 'vdpa', 'remote-managed'];

const fixedIpsConverter = listOf(dict({ subnet_id: { convert: uuid }, ip_address: { convert: ipAddress } }));
const pairsConverter = listOf(dict({ ip_address: { convert: ipOrCidr, required: true }, mac_address: { convert: macAddress } }), { unique: true });
const dhcpOptsConverter = listOf(
  dict({
    opt_name: { convert: str(64), required: true },
    opt_value: { convert: str(255), required: true },
    ip_version: { convert: (v, a) => { const n = int(4, 6)(v, a); if (n !== 4 && n !== 6) throw new BadRequest(`Invalid input for ${a}. Reason: must be 4 or 6.`); return n; } },
  }),
);

function isNetworkOwner(ctx: RequestContext, net: NetworkRecord): boolean {
  return ctx.isAdmin || net.project_id === ctx.projectId;
}

/** vif binding as the ML2/OVS driver reports it once a host is set. */
function vifFor(host: string): { type: string; details: Record<string, unknown> } {
  return host === ''
    ? { type: 'unbound', details: {} }
    : { type: 'ovs', details: { port_filter: true, connectivity: 'l2', bridge_name: 'br-int', datapath_type: 'system', bound_drivers: { '0': 'wyvern' } } };
}

interface FixedIpRequest {
  readonly subnet_id?: string;
  readonly ip_address?: string;
}

/**
 * Turn requested fixed_ips (or none: automatic) into claimed addresses. `keep` lists addresses
 * the port already holds (updates), which are not re-claimed.
 */
async function assignFixedIps(
  tx: Tx,
  ctx: RequestContext,
  net: NetworkRecord,
  portId: string,
  mac: string,
  requested: readonly FixedIpRequest[] | undefined,
  keep: readonly FixedIp[] = [],
  firstIp?: { readonly subnetId: string; readonly ip: string },
  deviceOwner = '',
): Promise<FixedIp[]> {
  const subnets = await subnetsOfNetwork(tx, net.id);
  const out: FixedIp[] = [];
  const seen = new Set<string>();
  const push = (f: FixedIp): void => {
    const k = `${f.subnet_id}/${f.ip_address}`;
    if (seen.has(k)) throw new InvalidInput(`Duplicate IP address '${f.ip_address}'`);
    seen.add(k);
    out.push(f);
  };
  if (requested === undefined) {
    // Automatic: one IPv4 address (first subnet with room), one address per IPv6 subnet.
    const v4 = subnets.filter((s) => s.ip_version === 4);
    if (v4.length > 0) {
      let got: FixedIp | undefined;
      for (const s of v4) {
        await loadSubnet(tx, s.id);
        const ip = await allocateIp(tx, s, portId, firstIp?.subnetId === s.id ? firstIp.ip : undefined);
        if (ip) {
          got = { subnet_id: s.id, ip_address: ip };
          break;
        }
      }
      if (!got) throw new IpAddressGenerationFailure(net.id);
      push(got);
    }
    for (const s of subnets.filter((x) => x.ip_version === 6)) {
      await loadSubnet(tx, s.id);
      if (isAutoAddressSubnet(s)) {
        const ip = eui64Address(s, mac);
        await claimIp(tx, s, ip, portId);
        push({ subnet_id: s.id, ip_address: ip });
      } else {
        const ip = await allocateIp(tx, s, portId);
        if (!ip) throw new IpAddressGenerationFailure(net.id);
        push({ subnet_id: s.id, ip_address: ip });
      }
    }
    return out;
  }
  // Update (Neutron's _get_changed_ips_for_port): an entry naming only a subnet keeps an address
  // the port already has there; addresses on automatic (SLAAC, DHCPv6-stateless) subnets stay
  // unless the port is a router interface.
  const explicit = new Set(requested.filter((r) => r.ip_address !== undefined).map((r) => r.ip_address));
  const unmatched = keep.filter((k) => !explicit.has(k.ip_address));
  for (const r of requested) {
    if (r.ip_address === undefined && r.subnet_id !== undefined) {
      const i = unmatched.findIndex((k) => k.subnet_id === r.subnet_id);
      if (i >= 0) {
        push(unmatched[i]);
        unmatched.splice(i, 1);
        continue;
      }
    }
    let subnet: SubnetRecord | undefined;
    if (r.subnet_id !== undefined) {
      subnet = subnets.find((s) => s.id === r.subnet_id);
      if (!subnet) throw new InvalidInput(`Failed to create port on network ${net.id}, because fixed_ips included invalid subnet ${r.subnet_id}`);
    }
    if (r.ip_address !== undefined) {
      const ip = parseIp(r.ip_address)!;
      if (!subnet) {
        subnet = subnets.find((s) => cidrContains(parseCidr(s.cidr)!, ip));
        if (!subnet) throw new InvalidIpForNetwork(r.ip_address);
      }
      const c = parseCidr(subnet.cidr)!;
      const { first, last } = usableRange(c);
      if (!cidrContains(c, ip) || ip.value < first || ip.value > last) throw new InvalidIpForSubnet(r.ip_address);
      await loadSubnet(tx, subnet.id);
      if (keep.some((k) => k.subnet_id === subnet!.id && k.ip_address === r.ip_address)) {
        push({ subnet_id: subnet.id, ip_address: r.ip_address });
        continue;
      }
      if (!isNetworkOwner(ctx, net)) throw new PolicyNotAuthorized('create_port:fixed_ips:ip_address');
      await claimIp(tx, subnet, r.ip_address, portId);
      push({ subnet_id: subnet.id, ip_address: r.ip_address });
    } else if (subnet) {
      await loadSubnet(tx, subnet.id);
      const ip = await allocateIp(tx, subnet, portId);
      if (!ip) throw new IpAddressGenerationFailure(net.id);
      push({ subnet_id: subnet.id, ip_address: ip });
    } else {
      throw new InvalidInput('fixed_ips entries need subnet_id or ip_address');
    }
  }
  if (!isRouterInterface({ device_owner: deviceOwner })) {
    for (const k of unmatched) {
      const s = subnets.find((x) => x.id === k.subnet_id);
      if (s && isAutoAddressSubnet(s) && !out.some((o) => o.subnet_id === k.subnet_id)) push(k);
    }
  }
  return out;
}


function checkSecurity(portSecurity: boolean, sgs: readonly string[], pairs: readonly AllowedAddressPair[], created: boolean): void {
  if (!portSecurity && sgs.length > 0) {
    if (created) throw new PortSecurityAndIPRequiredForSecurityGroups();
    throw new PortSecurityPortHasSecurityGroup();
  }
  if (!portSecurity && pairs.length > 0) throw new AddressPairAndPortSecurityRequired();
}

function normalisePairs(pairs: readonly { ip_address: string; mac_address?: string }[], mac: string): AllowedAddressPair[] {
  return pairs.map((p) => ({ ip_address: p.ip_address, mac_address: p.mac_address ?? mac }));
}

function normaliseDhcpOpts(opts: readonly { opt_name: string; opt_value: string; ip_version?: 4 | 6 }[]): ExtraDhcpOpt[] {
  return opts.map((o) => ({ opt_name: o.opt_name, opt_value: o.opt_value, ip_version: o.ip_version ?? 4 }));
}

async function resolveSecurityGroups(env: ServerEnv, tx: Tx, ctx: RequestContext, projectId: string, given: string[] | undefined, portSecurity: boolean): Promise<string[]> {
  if (given !== undefined) {
    if (given.length > 0) await env.hooks.validateSecurityGroups?.(tx, ctx, given);
    return given;
  }
  if (!portSecurity) return [];
  const def = await env.hooks.ensureDefaultSecurityGroup?.(tx, projectId);
  return def === undefined ? [] : [def];
}

export const portsPlugin: PluginFactory = (env) => {
  const cfg = env.config;
  const plugin: ResourcePlugin<PortRecord> = {
    collection: 'ports',
    member: 'port',
    prefix: PORTS_PREFIX,
    taggable: true,
    internalFields: ['key'],
    attributes: {
      ...standardAttributes(),
      network_id: { allowPost: true, allowPut: false, required: true, convert: uuid },
      admin_state_up: { allowPost: true, allowPut: true, default: true, convert: bool },
      status: { allowPost: false, allowPut: false },
      mac_address: { allowPost: true, allowPut: true, convert: macAddress },
      fixed_ips: {
        allowPost: true,
        allowPut: true,
        convert: fixedIpsConverter,
      },
      device_id: { allowPost: true, allowPut: true, default: '', convert: str(255) },
      device_owner: { allowPost: true, allowPut: true, default: '', convert: str(255) },
      allowed_address_pairs: { allowPost: true, allowPut: true, default: [], convert: pairsConverter },
      extra_dhcp_opts: { allowPost: true, allowPut: true, default: [], convert: dhcpOptsConverter },
      security_groups: { allowPost: true, allowPut: true, convert: listOf(uuid, { unique: true }) },
      port_security_enabled: { allowPost: true, allowPut: true, convert: bool },
      'binding:host_id': { allowPost: true, allowPut: true, default: '', convert: str(255), adminOnlyWrite: true, adminOnlyRead: true },
      'binding:vif_type': { allowPost: false, allowPut: false, adminOnlyRead: true },
      'binding:vif_details': { allowPost: false, allowPut: false, adminOnlyRead: true },
      'binding:vnic_type': { allowPost: true, allowPut: true, default: 'normal', convert: oneOf(VNIC_TYPES) },
      'binding:profile': { allowPost: true, allowPut: true, default: {}, convert: anyDict, adminOnlyWrite: true, adminOnlyRead: true },
    },
    extensions: [
      { alias: 'binding', name: 'Port Binding', description: 'Expose port bindings of a virtual port to external application' },
      { alias: 'allowed-address-pairs', name: 'Allowed Address Pairs', description: 'Provides allowed address pairs' },
      { alias: 'ip-substring-filtering', name: 'IP address substring filtering', description: 'Provides IP address substring filtering when listing ports' },
      { alias: 'extra_dhcp_opt', name: 'Neutron Extra DHCP options', description: 'Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)' },
    ],
    filters: {
      // Neutron: values of one kind are alternatives, kinds combine, all on the same address
      // (`fixed_ips=ip_address=A&fixed_ips=subnet_id=S`: A on S). ip_address_substr is the
      // ip-substring-filtering extension.
      fixed_ips: (obj, wanted) => {
        const ips = (obj.fixed_ips as FixedIp[] | undefined) ?? [];
        const by: Record<string, string[]> = { ip_address: [], subnet_id: [], ip_address_substr: [] };
        for (const w of wanted) {
          const eq = w.indexOf('=');
          const k = eq >= 0 ? w.slice(0, eq) : 'ip_address';
          if (!(k in by)) throw new BadRequest(`Invalid fixed_ips filter '${w}': expected ip_address, subnet_id or ip_address_substr`);
          by[k].push(eq >= 0 ? w.slice(eq + 1) : w);
        }
        return ips.some(
          (f) =>
            (by.ip_address.length === 0 || by.ip_address.includes(f.ip_address)) &&
            (by.subnet_id.length === 0 || by.subnet_id.includes(f.subnet_id)) &&
            (by.ip_address_substr.length === 0 || by.ip_address_substr.some((x) => f.ip_address.includes(x))),
        );
      },
    },
    notFound: (id) => new PortNotFound(id),
    canSee(ctx, p, tx) {
      if (p.project_id === ctx.projectId) return true; // synchronous: lists of own ports cost no await
      return tx.peekJsonCached<NetworkRecord>(resourceKey('networks', p.network_id)).then((n) => n !== undefined && n.project_id === ctx.projectId);
    },

    async mayDelete(ctx, p, tx) {
      if (p.project_id === ctx.projectId) return true;
      const n = await tx.getJson<NetworkRecord>(resourceKey('networks', p.network_id));
      return n !== undefined && n.value.project_id === ctx.projectId;
    },

    async create(tx, ctx, input, base): Promise<PortRecord> {
      // Everything a create reads, in two batches (one round trip each on etcd): the records it
      // depends on, then the first candidates for the MAC, the address and the port key.
      const networkId = input.network_id as string;
      await tx.prefetch([resourceKey('networks', networkId), defaultSecurityGroupKey(base.project_id), PORT_KEY_HINT, quotaKey(base.project_id)], [SUBNETS_PREFIX]);
      const net = await loadNetwork(tx, ctx, networkId);
      if (!networkUsable(ctx, net)) throw new PolicyNotAuthorized('create_port');
      const id = base.id;
      const requested = input.fixed_ips as FixedIpRequest[] | undefined;
      const macFirst = input.mac_address === undefined ? randomMac(cfg.baseMac) : undefined;
      const autoSubnet = requested === undefined ? (await subnetsOfNetwork(tx, net.id)).find((x) => x.ip_version === 4) : undefined;
      const ipFirst = autoSubnet === undefined ? undefined : ipCandidate(autoSubnet);
      const keyFirst = await nextHinted(tx, PORT_KEY_HINT, MAX_PORT_KEY);
      await tx.prefetch([
        ...(macFirst !== undefined ? [macKey(net.id, macFirst)] : []),
        ...(autoSubnet !== undefined && ipFirst !== undefined ? [ipKey(autoSubnet.id, ipFirst)] : []),
        ...(keyFirst !== undefined ? [portKeyKey(keyFirst)] : []),
      ]);
      let mac: string;
      if (input.mac_address !== undefined) {
        if (!isNetworkOwner(ctx, net)) throw new PolicyNotAuthorized('create_port:mac_address');
        mac = input.mac_address as string;
        await claimMac(tx, net.id, mac, id);
      } else {
        mac = await generateMac(tx, net.id, cfg.baseMac, id, macFirst);
      }
      const firstIp = autoSubnet !== undefined && ipFirst !== undefined ? { subnetId: autoSubnet.id, ip: ipFirst } : undefined;
      const fixedIps = await assignFixedIps(tx, ctx, net, id, mac, requested, [], firstIp);
      const portSecurity = (input.port_security_enabled as boolean | undefined) ?? net.port_security_enabled;
      const pairs = normalisePairs(input.allowed_address_pairs as AllowedAddressPair[], mac);
      const given = input.security_groups as string[] | undefined;
      checkSecurity(portSecurity, given ?? [], pairs, true);
      const sgs = await resolveSecurityGroups(env, tx, ctx, base.project_id, given, portSecurity);
      const key = await allocateHinted(tx, PORT_KEY_PREFIX, PORT_KEY_HINT, MAX_PORT_KEY, id, keyFirst);
      if (key === undefined) throw new RetryLimitExceeded();
      // Blind write: tells network delete / subnet changes that a port appeared.
      tx.put(networkGuardKey(net.id), id);
      const host = input['binding:host_id'] as string;
      const vif = vifFor(host);
      return {
        ...base,
        network_id: net.id,
        admin_state_up: input.admin_state_up as boolean,
        status: 'DOWN',
        mac_address: mac,
        fixed_ips: fixedIps,
        device_id: input.device_id as string,
        device_owner: input.device_owner as string,
        allowed_address_pairs: pairs,
        extra_dhcp_opts: normaliseDhcpOpts(input.extra_dhcp_opts as ExtraDhcpOpt[]),
        security_groups: sgs,
        port_security_enabled: portSecurity,
        'binding:host_id': host,
        'binding:vif_type': vif.type,
        'binding:vif_details': vif.details,
        'binding:vnic_type': input['binding:vnic_type'] as string,
        'binding:profile': input['binding:profile'] as Record<string, unknown>,
        key,
      };
    },

    async update(tx, ctx, current, changes): Promise<PortRecord> {
      const net = await loadNetwork(tx, ctx, current.network_id);
      let mac = current.mac_address;
      if (changes.mac_address !== undefined && changes.mac_address !== current.mac_address) {
        if (!ctx.isAdmin) throw new PolicyNotAuthorized('update_port:mac_address');
        if (current['binding:host_id'] !== '' && current.status === 'ACTIVE') throw new InvalidInput('cannot change the MAC address of a bound, active port');
        mac = changes.mac_address as string;
        await claimMac(tx, net.id, mac, current.id);
        releaseMac(tx, net.id, current.mac_address);
      }
      let fixedIps = current.fixed_ips;
      if (changes.fixed_ips !== undefined) {
        fixedIps = await assignFixedIps(tx, ctx, net, current.id, mac, changes.fixed_ips as FixedIpRequest[], current.fixed_ips, undefined, (changes.device_owner as string | undefined) ?? current.device_owner);
        for (const old of current.fixed_ips) {
          if (!fixedIps.some((f) => f.subnet_id === old.subnet_id && f.ip_address === old.ip_address)) releaseIp(tx, old.subnet_id, old.ip_address);
        }
      }
      const portSecurity = (changes.port_security_enabled as boolean | undefined) ?? current.port_security_enabled;
      const pairs = changes.allowed_address_pairs !== undefined ? normalisePairs(changes.allowed_address_pairs as AllowedAddressPair[], mac) : current.allowed_address_pairs;
      const sgs = changes.security_groups !== undefined ? (changes.security_groups as string[]) : current.security_groups;
      checkSecurity(portSecurity, sgs, pairs, false);
      if (changes.security_groups !== undefined && sgs.length > 0) await env.hooks.validateSecurityGroups?.(tx, ctx, sgs);
      const host = (changes['binding:host_id'] as string | undefined) ?? current['binding:host_id'];
      const next: Record<string, unknown> = {
        ...current,
        mac_address: mac,
        fixed_ips: fixedIps,
        port_security_enabled: portSecurity,
        allowed_address_pairs: pairs,
        security_groups: sgs,
      };
      for (const k of ['name', 'description', 'admin_state_up', 'device_id', 'device_owner', 'binding:vnic_type', 'binding:profile']) {
        if (changes[k] !== undefined) next[k] = changes[k];
      }
      if (changes.extra_dhcp_opts !== undefined) next.extra_dhcp_opts = normaliseDhcpOpts(changes.extra_dhcp_opts as ExtraDhcpOpt[]);
      if (host !== current['binding:host_id']) {
        const vif = vifFor(host);
        next['binding:host_id'] = host;
        next['binding:vif_type'] = vif.type;
        next['binding:vif_details'] = vif.details;
        next.status = 'DOWN';
      }
      tx.put(networkGuardKey(net.id), current.id);
      return next as unknown as PortRecord;
    },

    async delete(tx, _ctx, p): Promise<void> {
      for (const f of p.fixed_ips) releaseIp(tx, f.subnet_id, f.ip_address);
      releaseMac(tx, p.network_id, p.mac_address);
      tx.delete(portKeyKey(p.key));
      tx.put(networkGuardKey(p.network_id), `-${p.id}`);
    },
  };
  return plugin as unknown as ResourcePlugin<StandardRecord>;
};
