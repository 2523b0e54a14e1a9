#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { redactText, showValue } from '../core/redact.js';
import { runDemo } from './demo.js';
import { runHarvestCommand } from './harvest.js';
import { runMockCommand } from './mock.js';

const USAGE = `usage: sluice <command> [options]

commands:
  harvest  pull every page of a paginated API into NDJSON, resumable (sluice harvest --help)
  demo     harvest from the embedded mock API, with a report (no network needed)
  mock     start a rate-limited mock API on 127.0.0.1 (sluice mock --help)
  help     sluice help <command>: that command's options

  sluice --version prints the version.
`;

/** The package's version, from the package.json two levels up (dist/cli/ or src/cli/). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'harvest':
      return runHarvestCommand(argv.slice(1));
    case 'demo':
      return runDemo(argv.slice(1));
    case 'mock':
      return runMockCommand(argv.slice(1));
    case 'help':
      // `sluice help harvest` is `sluice harvest --help`; `sluice help` alone is this usage.
      return main(argv[1] === undefined || argv[1] === 'help' ? ['--help'] : [argv[1], '--help']);
    case '-v':
    case '--version':
    case 'version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`sluice: unknown command ${showValue(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sluice: ${redactText(error instanceof Error ? error.message : String(error))}\n`);
    process.exitCode = 1;
  },
);
