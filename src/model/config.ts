/**
 * Run-time settings in the north-bound store that controllers follow live.
 *
 * `/config/l3-mode` = "proactive" | "reactive": the cloud-wide routing mode;
 * `/config/l3-mode/<chassis>` overrides it for one chassis. Without either, each controller
 * uses its `--l3-mode` flag. Changing the key switches the mode without losing traffic (the
 * controller replaces one set of flows with the other in one bundle).
 */
export const CONFIG_PREFIX = '/config/';
export const L3_MODE_KEY = '/config/l3-mode';

export function chassisL3ModeKey(chassis: string): string {
  return `${L3_MODE_KEY}/${chassis}`;
}

export function parseL3Mode(value: string | undefined): 'proactive' | 'reactive' | undefined {
  const v = value?.trim().replace(/^"|"$/g, '');
  return v === 'proactive' || v === 'reactive' ? v : undefined;
}
