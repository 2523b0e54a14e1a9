#!/usr/bin/env node
import { demoLimiter } from './demo-limiter.js';
import { runMockCommand } from './mock.js';

const USAGE = `usage: sluice <command>

commands:
  demo     show the limiter at work (no network needed)
  mock     start a rate-limited mock API on 127.0.0.1 (sluice mock --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'demo':
      await demoLimiter();
      return 0;
    case 'mock':
      return runMockCommand(argv.slice(1));
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`sluice: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sluice: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
