// The redaction rules live in core, where every error renders through them; the HTTP room
// re-exports the ones its callers and the public entry know it by.
export { isSecretHeader, redactHeaders, redactUrl } from '../core/redact.js';
