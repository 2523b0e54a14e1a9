import { ConfigError } from '../core/errors.js';

/** Names that mark a source file as YAML; any other is read as JSON. */
const YAML_NAME = /\.ya?ml$/i;

/**
 * parseSourceFile: the value a source file's text holds — JSON, or YAML when its name ends in
 * `.yaml` or `.yml`. YAML is read with the `yaml` package (an optional peer, loaded only
 * here) as YAML 1.2's core schema: `no` stays a string, dates stay strings, a key given twice
 * is an error rather than a silent overwrite, and aliases are capped (no billion laughs).
 * Errors name the file and the line.
 */
export async function parseSourceFile(path: string, text: string): Promise<unknown> {
  if (!YAML_NAME.test(path)) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConfigError('--config', path, `is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const yaml = await loadYaml(path);
  const document = yaml.parseDocument(text, { version: '1.2', schema: 'core', uniqueKeys: true, prettyErrors: true });
  const problem = document.errors[0];
  if (problem !== undefined) {
    const line = problem.linePos?.[0];
    throw new ConfigError('--config', path, `is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  return document.toJS({ maxAliasCount: 100 }) as unknown;
}

type Yaml = typeof import('yaml');

async function loadYaml(path: string): Promise<Yaml> {
  try {
    return await import('yaml');
  } catch {
    throw new ConfigError('--config', path, 'is YAML, which needs the yaml package: npm install yaml (or give the source as JSON)');
  }
}
