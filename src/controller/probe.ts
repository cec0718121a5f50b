/**
 * What a running controller shows to metrics and to its status record, read without changing
 * it (`LocalController.probe()`), and what it reports as it works (`ControllerObserver`, given in
 * its options). Both are cheap: the probe copies a few numbers and hands out the installed
 * mirror read-only; the observer is called once per bundle, per sync pass and per lost lease.
 */
import type { InstalledTable } from '../pipeline/index.js';
import type { ControllerStats } from './controller.js';

export interface ControllerProbe {
  readonly chassis: string;
  readonly gateway: boolean;
  readonly version: string;
  readonly l3Mode: string;
  /** North-bound revision the switch holds (acknowledged). */
  readonly appliedRevision: number;
  /** Newest north-bound revision the controller has seen (its watches). */
  readonly seenRevision: number;
  /** OpenFlow channel state (`connected` when programming works). */
  readonly openflow: string;
  /** OVSDB connection state (`unknown` with an in-memory stand-in). */
  readonly ovsdb: string;
  /** Times the OpenFlow channel and the OVSDB session came up again after the first time. */
  readonly openflowReconnects: number;
  readonly ovsdbReconnects: number;
  /** Times the chassis lease was lost (the controller registers again). */
  readonly leaseLosses: number;
  /** The switch's flows and groups as last read and since mirrored; undefined while disconnected. */
  readonly installed: InstalledTable | undefined;
  readonly stats: ControllerStats;
}

export interface ControllerObserver {
  /** A bundle of `messages` flow/group mods was committed (or failed) in `seconds`. */
  bundle?(seconds: number, messages: number, ok: boolean): void;
  /** A sync pass (compile, diff, send) took `seconds`. */
  sync?(seconds: number): void;
}
