import type { CommittedCounts, ResourceSpec, ResourceWriter, Resumed, Sink } from '../sinks/sink.js';

/**
 * SubSink: the sink one engine harvest inside a source writes to — a parent-less resource's
 * sync, or the children of one parent record. It hands each commit (records and the engine's
 * state, as text) to `onCommit`, which commits them into the resource's real writer with the
 * resource's state, or holds them until the children before are committed. `resume` gives
 * back the engine state the resource's state holds, if any.
 */
export class SubSink implements Sink {
  readonly description = 'a resource of a source';

  constructor(
    private readonly resumeFrom: string | undefined,
    private readonly lastRecords: string[],
    private readonly onCommit: (records: readonly string[], harvest: string) => Promise<void>,
  ) {}

  open<S extends CommittedCounts>(spec: ResourceSpec<S>): Promise<ResourceWriter<S>> {
    const { resumeFrom, lastRecords, onCommit } = this;
    const writer: ResourceWriter<S> = {
      resume: (): Promise<Resumed<S> | undefined> =>
        Promise.resolve(resumeFrom === undefined ? undefined : { state: spec.codec.decode(resumeFrom, 'the resource state'), lastRecords }),
      commit: (records, state) => onCommit(records, spec.codec.encode(state)),
      close: () => Promise.resolve(),
    };
    return Promise.resolve(writer);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
