/**
 * The few Neutron v2.0 calls the sandbox makes (find a network or security group, create and
 * delete a VM's port), over plain HTTP against the sandbox's own API server.
 */

export class NeutronClientError extends Error {
  override readonly name = 'NeutronClientError';
  constructor(
    message: string,
    readonly status: number,
    /** Neutron fault type (`NetworkNotFound`, ...) when the server sent one. */
    readonly type?: string,
  ) {
    super(message);
  }
}

export interface NeutronNetwork {
  readonly id: string;
  readonly name: string;
  readonly mtu?: number;
}

export interface NeutronPort {
  readonly id: string;
  readonly name: string;
  readonly network_id: string;
  readonly mac_address: string;
  readonly fixed_ips?: readonly { readonly subnet_id: string; readonly ip_address: string }[];
}

export interface CreatePortRequest {
  readonly name: string;
  readonly networkId: string;
  readonly hostId: string;
  readonly deviceId: string;
  readonly securityGroups?: readonly string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class NeutronClient {
  constructor(
    readonly endpoint: string,
    /** Sent as `X-Project-Id` (noauth) when set. */
    readonly projectId?: string,
  ) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.projectId) headers['x-project-id'] = this.projectId;
    const res = await fetch(`${this.endpoint}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) {
      let type: string | undefined;
      let message = text;
      try {
        const fault = (JSON.parse(text) as { NeutronError?: { type?: string; message?: string } }).NeutronError;
        type = fault?.type;
        message = fault?.message ?? text;
      } catch {
        // not JSON: keep the body as the message
      }
      throw new NeutronClientError(`${method} ${path}: ${res.status} ${message}`, res.status, type);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A network by id, or else by unique name. */
  async findNetwork(nameOrId: string): Promise<NeutronNetwork> {
    if (UUID.test(nameOrId)) {
      try {
        return (await this.request<{ network: NeutronNetwork }>('GET', `/v2.0/networks/${nameOrId}`)).network;
      } catch (err) {
        if (!(err instanceof NeutronClientError) || err.status !== 404) throw err;
      }
    }
    const { networks } = await this.request<{ networks: NeutronNetwork[] }>(
      'GET',
      `/v2.0/networks?name=${encodeURIComponent(nameOrId)}`,
    );
    const found = networks.filter((n) => n.name === nameOrId);
    if (found.length === 1) return found[0];
    throw new NeutronClientError(
      found.length === 0 ? `no network named ${nameOrId}` : `${found.length} networks named ${nameOrId}: use its id`,
      found.length === 0 ? 404 : 409,
    );
  }

  /** A security group id, by id or unique name. */
  async findSecurityGroup(nameOrId: string): Promise<string> {
    if (UUID.test(nameOrId)) return nameOrId;
    const { security_groups: groups } = await this.request<{ security_groups: { id: string; name: string }[] }>(
      'GET',
      `/v2.0/security-groups?name=${encodeURIComponent(nameOrId)}`,
    );
    const found = groups.filter((g) => g.name === nameOrId);
    if (found.length === 1) return found[0].id;
    throw new NeutronClientError(
      found.length === 0 ? `no security group named ${nameOrId}` : `${found.length} security groups named ${nameOrId}`,
      found.length === 0 ? 404 : 409,
    );
  }

  /** A VM's port, as Nova would create it. */
  async createPort(req: CreatePortRequest): Promise<NeutronPort> {
    const port: Record<string, unknown> = {
      name: req.name,
      network_id: req.networkId,
      device_owner: 'compute:nova',
      device_id: req.deviceId,
      'binding:host_id': req.hostId,
    };
    if (req.securityGroups && req.securityGroups.length > 0) port.security_groups = req.securityGroups;
    return (await this.request<{ port: NeutronPort }>('POST', '/v2.0/ports', { port })).port;
  }

  /** Delete a port; a port already gone is not an error. */
  async deletePort(id: string): Promise<void> {
    try {
      await this.request<void>('DELETE', `/v2.0/ports/${id}`);
    } catch (err) {
      if (!(err instanceof NeutronClientError) || err.status !== 404) throw err;
    }
  }
}
