/**
 * An in-memory stand-in for the controller's OVSDB view (`SwitchDb`): bridges and ports live in
 * maps, ofports are assigned at once. "Plugging" a VM adds an interface with `iface-id` and an
 * ofport and emits 'interface', as the OVSDB monitor would after ovs-vswitchd's reconfiguration.
 */
import { EventEmitter } from 'node:events';
import type { SwitchDb } from '../controller/controller.js';
import type { EnsureBridgeOptions, EnsureTunnelPortOptions, InterfaceInfo } from '../ovsdb/vswitch.js';

export class FakeSwitchDb extends EventEmitter implements SwitchDb {
  readonly bridges = new Map<string, EnsureBridgeOptions>();
  private readonly ifaces = new Map<string, InterfaceInfo>();
  private nextOfport = 1;
  private nextUuid = 1;
  closed = false;

  ensureBridge(o: EnsureBridgeOptions): Promise<unknown> {
    this.bridges.set(o.name, o);
    return Promise.resolve(undefined);
  }

  ensureTunnelPort(o: EnsureTunnelPortOptions): Promise<unknown> {
    if (!this.ifaces.has(o.name)) this.put(o.name, o.type, undefined, o.options);
    return Promise.resolve(undefined);
  }

  waitForOfport(name: string): Promise<number> {
    const i = this.ifaces.get(name);
    if (i?.ofport === undefined) return Promise.reject(new Error(`fake switch db: no interface ${name}`));
    return Promise.resolve(i.ofport);
  }

  interfaces(): InterfaceInfo[] {
    return [...this.ifaces.values()];
  }

  /** Plug VM interfaces (one 'interface' event for the batch). Returns their ofports. */
  plug(vms: readonly { readonly name: string; readonly ifaceId: string; readonly ofport?: number }[]): number[] {
    const out = vms.map((v) => this.put(v.name, '', v.ifaceId, {}, v.ofport).ofport!);
    this.emit('interface');
    return out;
  }

  unplug(names: readonly string[]): void {
    for (const n of names) this.ifaces.delete(n);
    this.emit('interface');
  }

  setInterfaceExternalIds(name: string, ids: Record<string, string>): Promise<boolean> {
    const i = this.ifaces.get(name);
    if (!i) return Promise.resolve(false);
    this.ifaces.set(name, { ...i, externalIds: { ...i.externalIds, ...ids } });
    this.emit('interface');
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.closed = true;
    this.removeAllListeners();
    return Promise.resolve();
  }

  private put(name: string, type: string, ifaceId: string | undefined, _options: Record<string, string>, ofport?: number): InterfaceInfo {
    const port = ofport ?? this.nextOfport;
    this.nextOfport = Math.max(this.nextOfport, port + 1);
    const info: InterfaceInfo = {
      uuid: `00000000-0000-4000-8000-${(this.nextUuid++).toString(16).padStart(12, '0')}`,
      name,
      type,
      ifaceId,
      ofport: port,
      externalIds: ifaceId ? { 'iface-id': ifaceId } : {},
      error: undefined,
    };
    this.ifaces.set(name, info);
    return info;
  }
}
