/**
 * etcd members and leader for `wyvern status`: the member list from any endpoint, then each
 * member's own status (its view of the leader) from its client URL, with a short deadline.
 */
import { Etcd3 } from 'etcd3';
import { parseEtcdUrl } from '../store/etcd-url.js';

export interface EtcdMemberHealth {
  readonly name: string;
  readonly id: string;
  readonly clientUrls: readonly string[];
  /** Answered its status request. */
  readonly reachable: boolean;
  readonly isLeader: boolean;
  readonly version?: string;
  readonly error?: string;
}

export interface EtcdHealth {
  readonly endpoints: readonly string[];
  readonly members: readonly EtcdMemberHealth[];
  /** Name of the leader the reachable members agree on; undefined when none or they disagree. */
  readonly leader?: string;
  readonly error?: string;
}

const DEADLINE_MS = 2_000;

function client(hosts: readonly string[]): Etcd3 {
  return new Etcd3({ hosts: [...hosts], dialTimeout: DEADLINE_MS, defaultCallOptions: () => ({ deadline: Date.now() + DEADLINE_MS }) });
}

/** Health of the cluster behind an `etcd:URL[,URL]` store URL. */
export async function etcdHealth(storeUrl: string): Promise<EtcdHealth> {
  const { hosts } = parseEtcdUrl(storeUrl);
  const c = client(hosts);
  let members: { ID: string; name: string; clientURLs: string[] }[];
  try {
    members = (await c.cluster.memberList({})).members;
  } catch (err) {
    return { endpoints: hosts, members: [], error: err instanceof Error ? err.message : String(err) };
  } finally {
    c.close();
  }
  const answers = await Promise.all(
    members.map(async (m) => {
      const mc = client(m.clientURLs.length > 0 ? m.clientURLs : hosts);
      try {
        const s = await mc.maintenance.status({});
        return { leader: s.leader, version: s.version };
      } catch (err) {
        return { error: err instanceof Error ? err.message : String(err) };
      } finally {
        mc.close();
      }
    }),
  );
  const leaders = new Set(answers.flatMap((a) => ('leader' in a ? [a.leader] : [])));
  const leaderId = leaders.size === 1 ? [...leaders][0] : undefined;
  const out: EtcdMemberHealth[] = members.map((m, i) => {
    const a = answers[i];
    return {
      name: m.name,
      id: m.ID,
      clientUrls: m.clientURLs,
      reachable: !('error' in a),
      isLeader: leaderId !== undefined && leaderId !== '0' && m.ID === leaderId,
      ...('version' in a ? { version: a.version } : {}),
      ...('error' in a ? { error: a.error } : {}),
    };
  });
  const leader = out.find((m) => m.isLeader)?.name;
  return { endpoints: hosts, members: out, ...(leader !== undefined ? { leader } : {}) };
}
