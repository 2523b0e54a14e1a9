import { ConfigError } from '../core/errors.js';
import { redactUrlInText } from '../core/redact.js';
import { redactUrl } from '../http/redact.js';

const REDACTED = '[redacted]';
const SENTINEL = (name: string): string => `__sluice_${name}__`;

/**
 * parseHeader: `Name: value` as given to `--header`, with `$VAR` and `${VAR}` in the value
 * taken from `env` (so a token never has to be typed on the command line). `$$` is a
 * literal `$`. Errors name `--header` and the header, never its value.
 */
export function parseHeader(text: string, env: Record<string, string | undefined>): [string, string] {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text.trim() : text.slice(0, colon).trim();
  if (colon < 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new ConfigError('--header', colon < 0 ? '[redacted]' : `${name}: [redacted]`, "must be 'Name: value' with a valid header name");
  }
  const raw = text.slice(colon + 1).trim();
  const value = raw.replace(/\$\$|\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)|\$\{[^}]*\}?/g, (match, braced: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    const variable = braced ?? bare;
    if (variable === undefined) throw new ConfigError('--header', `${name}: [redacted]`, `has a malformed variable reference ${match.slice(0, 20)}`);
    const found = env[variable];
    if (found === undefined) throw new ConfigError('--header', `${name}: [redacted]`, `uses $${variable}, which is not set in the environment`);
    return found;
  });
  if (/[\r\n\0]/.test(value)) throw new ConfigError('--header', `${name}: [redacted]`, 'must not contain line breaks');
  return [name, value];
}

/**
 * splitCredentials: a template's `user:password@` moved into a Basic Authorization header,
 * so the URL that is fetched, saved and shown carries none (sluiceFetch refuses such URLs).
 */
export function splitCredentials(template: string): { template: string; authorization: string | undefined } {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i.exec(template);
  if (!match) return { template, authorization: undefined };
  const [user = '', password = ''] = match[2]!.split(/:(.*)/s, 2);
  const basic = Buffer.from(`${decodeURIComponent(user)}:${decodeURIComponent(password)}`).toString('base64');
  return { template: match[1]! + template.slice(match[0].length), authorization: `Basic ${basic}` };
}

/**
 * redactTemplate: the template as it may be shown (errors, report, state): credentials and
 * secret-looking query values replaced by `[redacted]`, placeholders kept as written.
 */
export function redactTemplate(template: string): string {
  const names = ['offset', 'limit', 'page', 'cursor'];
  let filled = template;
  for (const n of names) filled = filled.replaceAll(`{${n}}`, SENTINEL(n));
  const redacted = redactUrl(filled);
  if (redacted === REDACTED) return REDACTED;
  let out = redacted;
  for (const n of names) out = out.replaceAll(SENTINEL(n), `{${n}}`);
  return out;
}

/**
 * scrub: text about to be shown or saved (an error message, a failure reason) with every
 * URL redacted and every known secret value replaced, in case a library echoed one.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, redactUrlInText);
  for (const secret of secrets) if (secret.length >= 4) out = out.replaceAll(secret, REDACTED);
  return out;
}
