/**
 * agents (the `agent` extension) and availability zones (`availability_zone`): the chassis that
 * registered under `/chassis/` (model/chassis.ts), shown as Neutron shows its agents.
 *
 * A chassis' controller keeps its registration under a lease, so the registration exists exactly
 * while the controller is alive. The server copies each registration it sees into an agent
 * record (`/nb/agents/<id>`, id derived from the chassis name) when an admin lists agents;
 * the record keeps the admin's `description` and the last registration, so a chassis that died
 * still lists, with `alive: false`, until an admin deletes it. Agents are admin only: other
 * projects list none and get 404 for one (Neutron's policy).
 *
 * Every chassis does all of Neutron's agent jobs for its own ports (L2, DHCP, L3, metadata), so
 * there is one agent per chassis, of type `Wyvern controller`. `admin_state_up: false` (stop
 * scheduling to this agent) has no meaning here and is refused. Every chassis is in the default
 * availability zone `nova`, which serves networks and routers while any chassis is alive.
 */
import { createHash } from 'node:crypto';
import { CHASSIS_PREFIX, type AgentRecord, type ChassisRecord } from '../../model/chassis.js';
import { collectionPrefix } from '../../model/keys.js';
import type { StandardRecord } from '../../model/records.js';
import { bool, str } from '../attributes.js';
import { InvalidInput, ResourceNotFound } from '../errors.js';
import type { PluginFactory, ResourcePlugin } from '../registry.js';
import { timestamp } from '../time.js';
import { runTx, type Tx } from '../tx.js';

export const AGENTS_PREFIX = collectionPrefix('agents');
export const AGENT_TYPE = 'Wyvern controller';
export const AGENT_BINARY = 'wyvern-controller';
/** Neutron's default availability zone (default_availability_zones is empty, AZ name `nova`). */
export const DEFAULT_AVAILABILITY_ZONE = 'nova';

export class AgentNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('AgentNotFound', `Agent ${id} could not be found.`);
  }
}

/** The agent id of a chassis: a name-based (v5-style) UUID, stable for the chassis name. */
export function agentId(chassis: string): string {
  const h = createHash('sha1').update(`wyvern-chassis:${chassis}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Neutron's agent time format: `2026-01-01 12:00:00`. */
function agentTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 19).replace('T', ' ');
}

async function registrations(tx: Tx): Promise<Map<string, ChassisRecord>> {
  const out = new Map<string, ChassisRecord>();
  for (const kv of await tx.range(CHASSIS_PREFIX)) {
    try {
      const rec = JSON.parse(kv.value) as ChassisRecord;
      out.set(kv.key.slice(CHASSIS_PREFIX.length), rec);
    } catch {
      // A registration that does not parse is not shown (the controller rewrites it).
    }
  }
  return out;
}

/** Write an agent record for every registration not yet copied (or changed since). */
export async function syncAgents(tx: Tx): Promise<void> {
  const regs = await registrations(tx);
  const agents = new Map((await tx.rangeJson<AgentRecord>(AGENTS_PREFIX)).map((a) => [a.chassis, a]));
  for (const [name, reg] of regs) {
    const cur = agents.get(name);
    if (cur && JSON.stringify(cur.registration) === JSON.stringify(reg)) continue;
    const id = agentId(name);
    const now = timestamp();
    const next: AgentRecord = cur
      ? { ...cur, registration: reg, updated_at: now, revision_number: cur.revision_number + 1 }
      : { id, name, description: '', project_id: '', tags: [], created_at: now, updated_at: now, revision_number: 0, chassis: name, admin_state_up: true, registration: reg };
    if (!cur) tx.absent(`${AGENTS_PREFIX}${id}`);
    tx.putJson(`${AGENTS_PREFIX}${id}`, next);
  }
}

export const agentsPlugin: PluginFactory = (env) => {
  const ro = { allowPost: false, allowPut: false };
  const plugin: ResourcePlugin<AgentRecord & StandardRecord> = {
    collection: 'agents',
    member: 'agent',
    prefix: AGENTS_PREFIX,
    internalFields: ['name', 'project_id', 'tenant_id', 'tags', 'updated_at', 'revision_number', 'chassis', 'registration'],
    readOnly: { create: true },
    attributes: {
      id: ro,
      agent_type: ro,
      binary: ro,
      host: ro,
      topic: ro,
      availability_zone: ro,
      alive: ro,
      started_at: ro,
      created_at: ro,
      heartbeat_timestamp: ro,
      configurations: ro,
      resources_synced: ro,
      admin_state_up: { allowPost: false, allowPut: true, convert: bool },
      description: { allowPost: false, allowPut: true, convert: str(255) },
    },
    extensions: [
      { alias: 'agent', name: 'agent', description: 'The agent management extension.' },
      { alias: 'availability_zone', name: 'Availability Zone', description: 'The availability zone extension.' },
    ],
    notFound: (id) => new AgentNotFound(id),
    canSee: () => false, // admins see every agent (the framework never asks for them)

    async beforeList(ctx) {
      if (ctx.isAdmin) await runTx(env.store, syncAgents);
    },

    async derive(tx) {
      const regs = await registrations(tx);
      const now = agentTime(new Date().toISOString());
      return (a) => {
        const live = regs.get(a.chassis);
        const reg = live ?? a.registration;
        return {
          agent_type: AGENT_TYPE,
          binary: AGENT_BINARY,
          host: a.chassis,
          topic: 'N/A',
          availability_zone: DEFAULT_AVAILABILITY_ZONE,
          alive: live !== undefined,
          created_at: agentTime(a.created_at),
          started_at: agentTime(reg.started_at),
          // Alive: the lease is being kept alive now. Dead: when the server last saw it change.
          heartbeat_timestamp: live !== undefined ? now : agentTime(a.updated_at),
          resources_synced: null,
          configurations: {
            chassis: reg.name,
            hostname: reg.hostname,
            tunnel_ip: reg.tunnel_ip,
            encap: reg.encap,
            bridge_mappings: reg.bridge_mappings,
            gateway: reg.gateway,
            l3_mode: reg.l3_mode,
            version: reg.version,
          },
        };
      };
    },

    async create() {
      throw new InvalidInput('agents are registered by controllers');
    },

    async update(_tx, _ctx, current, changes) {
      if (changes.admin_state_up === false) {
        throw new InvalidInput('admin_state_up=false is not supported for Wyvern agents: every chassis serves its own ports and nothing is scheduled to agents');
      }
      return { ...current, description: (changes.description as string | undefined) ?? current.description };
    },

    async delete() {
      // The record goes; a chassis still registered is listed again (as a new agent) later.
    },
  };
  return plugin as unknown as ResourcePlugin<StandardRecord>;
};

/** `GET /v2.0/availability_zones`: the default zone, for networks and routers (available while a chassis lives). */
export const availabilityZonesPlugin: PluginFactory = () => {
  const ro = { allowPost: false, allowPut: false };
  const plugin: ResourcePlugin = {
    collection: 'availability_zones',
    member: 'availability_zone',
    prefix: collectionPrefix('availability_zones'),
    internalFields: ['id', 'project_id', 'tenant_id', 'description', 'tags', 'created_at', 'updated_at', 'revision_number'],
    readOnly: { create: true, update: true, delete: true },
    attributes: { name: ro, resource: ro, state: ro },
    notFound: (id) => new ResourceNotFound('AvailabilityZoneNotFound', `AvailabilityZone ${id} could not be found.`),
    canSee: () => true,
    async computeRecords(tx) {
      // Like Neutron: the zones of the agents there are (none: no zone), available while one lives.
      const alive = (await tx.range(CHASSIS_PREFIX)).length > 0;
      if (!alive && (await tx.range(AGENTS_PREFIX)).length === 0) return [];
      const now = timestamp();
      return ['network', 'router'].map((resource) => ({
        id: `${DEFAULT_AVAILABILITY_ZONE}/${resource}`,
        name: DEFAULT_AVAILABILITY_ZONE,
        description: '',
        project_id: '',
        tags: [],
        created_at: now,
        updated_at: now,
        revision_number: 0,
        resource,
        state: alive ? 'available' : 'unavailable',
      }));
    },
    async create() {
      throw new InvalidInput('availability zones are read only');
    },
    async update(_tx, _ctx, current) {
      return current;
    },
    async delete() {},
  };
  return plugin;
};
