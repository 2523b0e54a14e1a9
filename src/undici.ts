// sluice/undici: sluice's admission as an undici interceptor. Re-exports only; undici is the
// caller's (its types are used, its code never loaded here), so 'sluice' stays dependency-free.
export { sluiceInterceptor, type SluiceInterceptorOptions, type SluiceDispatchEvent } from './http/undici-interceptor.js';
