// The `sluice` command's own surface: --version, help, --help that never starts work, and
// option errors in our words (naming the flag, never Node's parseArgs wording).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseCommandArgs } from '../../src/cli/args.js';
import { ConfigError } from '../../src/core/errors.js';
import { runCli } from '../harvest/spawn-cli.js';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('sluice', () => {
  it('--version and version print the package version', async () => {
    for (const flag of ['--version', '-v', 'version']) {
      const run = await runCli([flag]);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `${VERSION}\n`);
    }
  });

  it('help lists the commands; help <command> is that command --help', async () => {
    const all = await runCli(['help']);
    assert.equal(all.code, 0);
    assert.match(all.stdout, /harvest .*\n.*demo .*\n.*mock /s);
    const harvest = await runCli(['help', 'harvest']);
    assert.equal(harvest.code, 0);
    assert.match(harvest.stdout, /^usage: sluice harvest <url-template>/);
    const unknown = await runCli(['help', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "nope"/);
  });

  it('demo --help prints its usage and does not run the demo', async () => {
    const run = await runCli(['demo', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^usage: sluice demo/);
    assert.doesNotMatch(run.stderr, /mock API on/);
  });

  it('an unknown option is named in our words, with exit code 2', async () => {
    for (const command of ['demo', 'mock', 'harvest']) {
      const run = await runCli([command, '--frobnicate']);
      assert.equal(run.code, 2, command);
      assert.match(run.stderr, new RegExp(`unknown option for sluice ${command} \\(got "--frobnicate"\\)`), command);
      assert.doesNotMatch(run.stderr, /To specify a positional argument/, command);
    }
  });
});

describe('parseCommandArgs', () => {
  const options = { rate: { type: 'string' }, json: { type: 'boolean' } } as const;
  const errorOf = (argv: string[], positionals = false): ConfigError => {
    try {
      parseCommandArgs('harvest', argv, options, positionals);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error;
    }
    assert.fail('no error');
  };

  it('names a flag that needs a value, and one that takes none, without echoing the value', () => {
    assert.equal(errorOf(['--rate']).field, '--rate');
    assert.match(errorOf(['--rate']).message, /--rate: needs a value/);
    const json = errorOf(['--json=s3cr3t']);
    assert.equal(json.field, '--json');
    assert.match(json.message, /takes no value: write --json alone/);
    assert.doesNotMatch(json.message, /s3cr3t/);
  });

  it('refuses a positional argument where the command takes none, without echoing it', () => {
    const error = errorOf(['sk-live-secret']);
    assert.match(error.message, /sluice harvest takes options only/);
    assert.doesNotMatch(error.message, /sk-live-secret/);
  });

  it('returns what parseArgs returns when the arguments are good', () => {
    const { values, positionals } = parseCommandArgs('harvest', ['--rate', '5/1s', '--json', 'x'], options, true);
    assert.deepEqual({ ...values }, { rate: '5/1s', json: true });
    assert.deepEqual(positionals, ['x']);
  });
});
