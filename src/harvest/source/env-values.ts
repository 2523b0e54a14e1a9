import { ConfigError } from '../../core/errors.js';

const ENV_REF = /\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * EnvValues: `{env.NAME}` in a config file's strings, taken from the environment, so no
 * secret has to be written in the file. Every value taken is remembered as a secret: it is
 * scrubbed from anything shown (errors, reports, state), as header values are.
 */
export class EnvValues {
  /** The values taken from the environment, for scrub(). */
  readonly secrets: string[] = [];

  constructor(private readonly env: Record<string, string | undefined>) {}

  /** `text` with each `{env.NAME}` replaced; throws ConfigError naming `path` and the variable when it is not set. */
  fill(text: string, path: string): string {
    return text.replace(ENV_REF, (_match, name: string) => {
      const value = this.env[name];
      if (value === undefined) throw new ConfigError(path, '[redacted]', `uses {env.${name}}, which is not set in the environment`);
      if (/[\r\n\0]/.test(value)) throw new ConfigError(path, '[redacted]', `uses {env.${name}}, whose value holds a line break`);
      if (value.length > 0) this.secrets.push(value);
      return value;
    });
  }

  /** Whether `text` takes anything from the environment (its value is then a secret). */
  static refers(text: string): boolean {
    return new RegExp(ENV_REF.source).test(text);
  }
}
