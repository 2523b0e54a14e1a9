import { isSecretName, REDACTED } from '../core/redact.js';
import type { HarvestConfig } from './config.js';

/**
 * The next page's URL as the state file keeps it. The engine keeps the URL it will fetch,
 * exactly; the file keeps it too — the server's cursors, tokens and signatures in it are
 * where the harvest resumes, whatever they are called — but without the user's own
 * secrets: a query value that is the template's value for a secret-named parameter
 * (`api_key`, `accessToken`) becomes `[redacted]`, and one that is a `--header` value becomes
 * `[redacted:header:<name>]`. Both come back from this run's options on resume, so a rotated
 * key resumes with the new one.
 *
 * What is shown to people — the failed-pages file, the report, messages — goes through
 * redactUrl instead, which hides every secret-named value.
 */
export function urlForState(url: string, config: HarvestConfig): string {
  const parsed = new URL(url);
  const own = templateSecrets(config);
  let changed = false;
  for (const [name, value] of [...parsed.searchParams.entries()]) {
    if (value === '') continue;
    const marker = own.get(name) === value ? REDACTED : headerMarker(value, config);
    if (marker === undefined) continue;
    parsed.searchParams.set(name, marker);
    changed = true;
  }
  return changed ? parsed.href.replace(/%5Bredacted(%3Aheader%3A[^&#%]*)?%5D/g, (marker) => decodeURIComponent(marker)) : url;
}

/**
 * urlFromState: a URL from the state file made fetchable: each marker gets its value from
 * this run's template or headers. Throws an Error naming the parameter when this run does
 * not carry it (the template or --header changed since; or a state file from before
 * version 3, which hid every secret-named value, cursors such as `?token=` included).
 */
export function urlFromState(saved: string, config: HarvestConfig): string {
  const url = new URL(saved);
  const own = templateSecrets(config);
  for (const [name, value] of [...url.searchParams.entries()]) {
    if (value === REDACTED) {
      const real = own.get(name);
      if (real === undefined) throw new Error(`cannot resume: the saved next URL hides the value of its query parameter '${name}', and the URL template has no value of its own for it`);
      url.searchParams.set(name, real);
      continue;
    }
    const header = /^\[redacted:header:(.+)\]$/.exec(value)?.[1];
    if (header === undefined) continue;
    const real = config.headers[header];
    if (real === undefined) throw new Error(`cannot resume: the saved next URL carried the value of --header ${header}, which this run does not give`);
    url.searchParams.set(name, tokenOf(real));
  }
  return url.href;
}

/** The template's secret-named query parameters that have a value of their own (not a placeholder). */
function templateSecrets(config: HarvestConfig): Map<string, string> {
  const secrets = new Map<string, string>();
  const sentinel = '__sluice_placeholder__';
  const probe = new URL(config.template.fill({ offset: sentinel, limit: sentinel, page: sentinel, cursor: sentinel }));
  for (const [name, value] of probe.searchParams) {
    if (value !== '' && !value.includes(sentinel) && (isSecretName(name) || config.secretParams?.includes(name))) secrets.set(name, value);
  }
  return secrets;
}

/** The marker for a query value that is a --header value (or its token, after `Bearer `), if it is one. */
function headerMarker(value: string, config: HarvestConfig): string | undefined {
  if (value.length < 8) return undefined;
  for (const [name, header] of Object.entries(config.headers)) {
    if (value === header || value === tokenOf(header)) return `[redacted:header:${name}]`;
  }
  return undefined;
}

/** A header value's credential: the part after an auth scheme (`Bearer abc` → `abc`). */
function tokenOf(header: string): string {
  return /^[A-Za-z]+ (\S+)$/.exec(header)?.[1] ?? header;
}
