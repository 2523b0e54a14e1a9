// The streaming flow engine and its admission helpers: the public API of issue 4.
export { flow, type Flow } from './flow.js';
export type {
  FlowContext,
  FlowEvents,
  FlowFailure,
  FlowOptions,
  FlowResult,
  FlowSource,
  FlowStats,
  FlowSuccess,
  FlowWorker,
  LatencySummary,
} from './types.js';
export { isOverloadError } from './options.js';
export { Channel, ChannelClosedError, type ChannelOptions, type WaitOptions } from './channel.js';
export { pipeToWritable, type PipeOptions } from './interop.js';
export { type Disposer } from '../core/events.js';
export { AimdLimit, type AdaptiveLimit, type AimdOptions, type LimitBounds, type LimitSample } from '../adaptive/adaptive-limit.js';
export { Gradient2Limit, type Gradient2Options } from '../adaptive/gradient2-limit.js';
export { VegasLimit, type VegasOptions } from '../adaptive/vegas-limit.js';
export { RateSizedLimit, type RateSizedOptions } from '../adaptive/rate-sized-limit.js';
export {
  ResourceGuard,
  type ResourceGuardOptions,
  type ResourceGuardStats,
  type ResourceReadings,
} from '../adaptive/resource-guard.js';
