import { ConfigError } from '../../core/errors.js';
import { EnvValues } from './env-values.js';
import type { Fields } from './fields.js';
import type { AuthConfig } from './source-config.js';

const TYPES = ['bearer', 'basic', 'apiKey', 'oauth2'] as const;

/**
 * parseAuth: `client.auth`. A secret (a token, a password, an API key, a client secret) must
 * come from the environment — `"token": "{env.API_TOKEN}"` — so the file can be committed
 * and shown; a literal one is refused, naming the field.
 */
export function parseAuth(auth: Fields, env: EnvValues): AuthConfig {
  const type = auth.oneOf('type', TYPES);
  if (type === undefined) throw new ConfigError(auth.at('type'), undefined, `is required: one of ${TYPES.join(', ')}`);
  const secret = (key: string, example: string): string => {
    const text = auth.requiredString(key, example);
    if (!EnvValues.refers(text)) throw new ConfigError(auth.at(key), '[redacted]', `is a secret: take it from the environment, e.g. ${example}`);
    return env.fill(text, auth.at(key));
  };
  const plain = (key: string, example: string): string => env.fill(auth.requiredString(key, example), auth.at(key));
  let result: AuthConfig;
  switch (type) {
    case 'bearer':
      result = { type, token: secret('token', '"{env.API_TOKEN}"') };
      break;
    case 'basic':
      result = { type, username: plain('username', '"me"'), password: secret('password', '"{env.API_PASSWORD}"') };
      break;
    case 'apiKey': {
      const where = auth.oneOf('in', ['header', 'query'] as const) ?? 'header';
      const name = auth.requiredString('name', where === 'header' ? '"X-Api-Key"' : '"api_key"');
      if (where === 'header' && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ConfigError(auth.at('name'), name, 'must be a valid header name');
      result = { type, name, in: where, value: secret('value', '"{env.API_KEY}"') };
      break;
    }
    case 'oauth2': {
      const tokenUrl = plain('tokenUrl', '"https://auth.example.com/oauth/token"');
      if (!/^https?:\/\//i.test(tokenUrl) || !URL.canParse(tokenUrl)) throw new ConfigError(auth.at('tokenUrl'), tokenUrl, 'must be an absolute http(s) URL');
      result = {
        type,
        tokenUrl,
        clientId: plain('clientId', '"{env.CLIENT_ID}"'),
        clientSecret: secret('clientSecret', '"{env.CLIENT_SECRET}"'),
        scope: auth.string('scope'),
        refreshBeforeMs: auth.duration('refreshBefore', true) ?? 60_000,
      };
      break;
    }
  }
  auth.done();
  return result;
}
