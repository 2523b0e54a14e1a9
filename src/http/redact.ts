const REDACTED = '[redacted]';

/** Header names whose values are credentials: Authorization, Cookie, and anything ending in -key, -token, -secret. */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie)$|(^|[-_])(key|token|secret|password|signature)$/i;
/** Query parameters that carry credentials (`?api_key=…`, `?access_token=…`, `?sig=…`). */
const SECRET_PARAM = /(^|[-_])(key|token|secret|password|sig|signature|auth)$|^(apikey|code)$/i;

/** isSecretHeader: true for headers whose values never appear in sluice's errors or events. */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name.trim());
}

/**
 * redactUrl: the URL with its user and password, and the values of credential-looking
 * query parameters, replaced by `[redacted]`. Unparseable input is redacted whole, since
 * it cannot be shown to be safe.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return REDACTED;
  }
  if (parsed.username !== '') parsed.username = REDACTED;
  if (parsed.password !== '') parsed.password = REDACTED;
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, REDACTED);
  }
  return parsed.href.replaceAll(encodeURIComponent(REDACTED), REDACTED);
}

/** redactHeaders: a plain record of the headers with every secret value replaced by `[redacted]`, for logs. */
export function redactHeaders(headers: ConstructorParameters<typeof Headers>[0]): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    out[name] = isSecretHeader(name) ? REDACTED : value;
  });
  return out;
}
