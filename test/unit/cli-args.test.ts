import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';

describe('parseArgs', () => {
  it('reads values, booleans, positionals and the rest after --', () => {
    const a = parseArgs(['vm', '--network', 'blue', '--gateway', '--chassis=hv2', '--', 'ping', '-c1'], {
      values: ['network', 'chassis'],
      booleans: ['gateway'],
    });
    expect(a.positional).toEqual(['vm']);
    expect(a.flags.get('network')).toBe('blue');
    expect(a.flags.get('chassis')).toBe('hv2');
    expect(a.flags.get('gateway')).toBe(true);
    expect(a.rest).toEqual(['ping', '-c1']);
  });

  it('rejects unknown flags and missing values', () => {
    expect(() => parseArgs(['--nope'], {})).toThrow(UsageError);
    expect(() => parseArgs(['--network'], { values: ['network'] })).toThrow(/needs a value/);
    expect(() => parseArgs(['--gateway=1'], { booleans: ['gateway'] })).toThrow(/takes no value/);
  });
});

describe('wyvern main', () => {
  it('answers --version and rejects unknown commands', async () => {
    expect(await main(['--version'])).toBe(0);
    expect(await main(['no-such-command'])).toBe(2);
  });
});
