// HTTP client side: sluiceFetch, adaptive rate, LLM quotas, redaction. The mock API has its own barrel (./mock).
export { sluiceFetch, type SluiceFetch } from './fetch.js';
export { type SluiceFetchOptions, type SluiceFetchEvent, type FetchFn, type FetchQuota, type QuotaTicket } from './fetch-options.js';
export { redactUrl, redactHeaders, isSecretHeader } from './redact.js';
export { RateAdaptation, type RateAdaptationOptions, type RateSignal, type RateStep } from '../algorithms/rate-adaptation.js';
export { AdaptiveRate, type AdaptiveRateOptions, type AdaptiveRateStats, type Sharing, type SharingChange } from '../adaptive/adaptive-rate.js';
export {
  MemorySharedAdaptation,
  type SharedAdaptation,
  type SharedAdaptationSource,
  type SharedView,
  type AdaptationProposal,
} from '../store/shared-adaptation.js';
export { type AdaptationParams } from '../algorithms/rate-adaptation.js';
export { llmFetch, ChatTokenQuota, estimateChatTokens, type LlmFetchOptions } from './llm.js';
export { TokenQuota, type TokenQuotaOptions, type TokenReservation } from '../limiters/token-quota.js';
