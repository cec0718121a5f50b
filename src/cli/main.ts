#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { type Command, UsageError } from './command.js';
import { serverCommand } from './server.js';
import { sandboxCommand } from './sandbox.js';
import { controllerCommand } from './controller.js';
import { traceCommand } from './trace.js';
import { statusCommand } from './status.js';
import { version } from './version.js';

/** Every subcommand, in the order `wyvern --help` lists them. */
const commands: readonly Command[] = [serverCommand, controllerCommand, sandboxCommand, statusCommand, traceCommand];

function help(): string {
  const width = Math.max(0, ...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'wyvern: distributed SDN controller and virtual router for OpenStack-style clouds',
    '',
    'usage: wyvern COMMAND [OPTIONS]',
    '       wyvern COMMAND --help',
    '',
    'commands:',
    ...(lines.length > 0 ? lines : ['  (none yet)']),
    '',
    'options:',
    '  --help     this text',
    '  --version  print the version',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`wyvern: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  const beforeDashes = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (beforeDashes.includes('--help') || beforeDashes.includes('-h')) {
    process.stdout.write(command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`wyvern ${name}: ${err.message}\n\n${command.usage}\n`);
      return 2;
    }
    throw err;
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]);
if (invokedDirectly || process.argv[1]?.endsWith('/wyvern')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`wyvern: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
