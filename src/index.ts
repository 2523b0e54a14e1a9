// sluice public API: re-exports only.
export { systemClock, preciseClock, ManualClock, type Clock, type Timer } from './core/clock.js';
export { parseDuration, parseRate, type Duration, type Rate, type RateInput } from './core/duration.js';
export {
  SluiceError,
  ConfigError,
  RejectedError,
  RateLimitedError,
  QueueFullError,
  CircuitOpenError,
  TimeoutError,
  StoreUnavailableError,
  isAbortError,
} from './core/errors.js';
export { CHANNEL_NAMES } from './core/telemetry.js';
export { type LimiterEvent, type RejectReason } from './limiters/limiter-events.js';
export type { WaitResult, WaitSink } from './core/queue-waits.js';
export { RateLimiter, Reservation, type RateLimiterOptions, type AcquireOptions, type Decision, type RateLimiterStats } from './limiters/rate-limiter.js';
export {
  ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  type PermitOptions,
  type Permit,
  type ConcurrencyStats,
} from './limiters/concurrency-limiter.js';
// The algorithms' state classes (GcraState, SlidingWindowState, …) are internal: a user picks
// one by name (`algorithm`) and reaches it through a limiter or a store.
export { type Algorithm, type LimitInput, type LimitSpec, toLimitSpecs } from './algorithms/limit-spec.js';
export { MemoryStore } from './store/memory.js';
export { type RateStore, type StartStamp } from './store/store.js';
export {
  parseFeedback,
  DEFAULT_MAX_RETRY_AFTER_MS,
  type Feedback,
  type FeedbackOptions,
  type FeedbackResponse,
  type FeedbackDialect,
  type Quota,
  type HeadersInput,
} from './http/feedback/parse.js';
export {
  startMockApi,
  recordAt,
  type MockApi,
  type MockApiOptions,
  type MockChatOptions,
  type MockLimitInput,
  type HeaderDialect,
  type LatencyInput,
  type LatencyPhase,
  type LatencySpec,
  type FaultKind,
  type FaultRates,
  type MockStats,
  type MockEndpoint,
  type MockRecord,
} from './http/mock/index.js';
export {
  flow,
  type Flow,
  type FlowContext,
  type FlowEvents,
  type FlowFailure,
  type FlowOptions,
  type FlowResult,
  type FlowSource,
  type FlowStats,
  type FlowSuccess,
  type FlowWorker,
  type LatencySummary,
  isOverloadError,
  Channel,
  ChannelClosedError,
  type ChannelOptions,
  type WaitOptions,
  pipeToWritable,
  type PipeOptions,
  AimdLimit,
  Gradient2Limit,
  VegasLimit,
  RateSizedLimit,
  type AdaptiveLimit,
  type AimdOptions,
  type Gradient2Options,
  type VegasOptions,
  type RateSizedOptions,
  type LimitBounds,
  type LimitSample,
  ResourceGuard,
  type ResourceGuardOptions,
  type ResourceGuardStats,
  type ResourceReadings,
} from './flow/index.js';
export * from './policies/index.js';
export { PartitionedRateLimiter, type PartitionedRateLimiterOptions } from './limiters/partitioned-limiter.js';
export {
  sluiceFetch,
  llmFetch,
  ChatTokenQuota,
  estimateChatTokens,
  redactUrl,
  redactHeaders,
  isSecretHeader,
  RateAdaptation,
  AdaptiveRate,
  TokenQuota,
  type SluiceFetch,
  type SluiceFetchOptions,
  type SluiceFetchEvent,
  type FetchFn,
  type FetchQuota,
  type QuotaTicket,
  type LlmFetchOptions,
  type RateAdaptationOptions,
  type RateSignal,
  type RateStep,
  type AdaptiveRateOptions,
  type TokenQuotaOptions,
  type TokenReservation,
  MemorySharedAdaptation,
  type SharedAdaptation,
  type SharedAdaptationSource,
  type SharedView,
  type AdaptationProposal,
  type AdaptationParams,
  type AdaptiveRateStats,
  type Sharing,
  type SharingChange,
} from './http/index.js';
