#!/usr/bin/env node
import { redactText, showValue } from '../core/redact.js';
import { runDemo } from './demo.js';
import { runHarvestCommand } from './harvest.js';
import { runMockCommand } from './mock.js';

const USAGE = `usage: sluice <command>

commands:
  harvest  pull every page of a paginated API into NDJSON, resumable (sluice harvest --help)
  demo     harvest from the embedded mock API, with a report (no network needed)
  mock     start a rate-limited mock API on 127.0.0.1 (sluice mock --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'harvest':
      return runHarvestCommand(argv.slice(1));
    case 'demo':
      return runDemo(argv.slice(1));
    case 'mock':
      return runMockCommand(argv.slice(1));
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
