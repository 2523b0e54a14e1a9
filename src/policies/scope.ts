import type { Clock } from '../core/clock.js';
import { abortReason } from '../core/errors.js';
import type { PolicyContext } from './policy.js';
import { unwatchAbort, watchAbort } from '../core/abort-watch.js';

/** Where a call's cancellation comes from: an enclosing policy's Scope, the caller's AbortSignal, or nothing. */
export type Parent = Scope | AbortSignal | undefined;

type Listener = (reason: unknown) => void;

/**
 * Scope: the cancellation of one call or attempt, cheap until someone looks. Node makes
 * an AbortSignal expensive (creating one costs microseconds, more than the rest of a
 * policy stack), so policies pass Scopes between themselves and only materialise an
 * AbortSignal when the work reads `context.signal`. A function that never reads it never
 * pays for it; one that reads it gets a real signal that aborts with the same reason.
 *
 * A Scope follows its parent until aborted or `release()`d; release it when its work is
 * over, or a long-lived parent keeps one listener per call.
 */
export class Scope {
  private controller: AbortController | undefined;
  private abortedFlag = false;
  private reasonValue: unknown;
  /** Most scopes have one listener; it is kept apart so they need no array. */
  private first: Listener | undefined;
  private listeners: Listener[] | undefined;
  private unlink: (() => void) | undefined;

  constructor(parent?: Parent) {
    if (parent === undefined) return;
    if (isAborted(parent)) {
      this.abort(reasonOf(parent));
      return;
    }
    this.unlink = onAbort(parent, (reason) => this.abort(reason));
  }

  get aborted(): boolean {
    return this.abortedFlag;
  }

  /** Why it aborted; undefined while it has not. */
  get reason(): unknown {
    return this.reasonValue;
  }

  /** A real AbortSignal for this scope, made on first use. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedFlag) this.controller.abort(this.reasonValue);
    }
    return this.controller.signal;
  }

  /** Calls `listener` once with the reason when this scope aborts, for the scope's whole life. */
  listen(listener: Listener): void {
    if (this.first === undefined) this.first = listener;
    else (this.listeners ??= []).push(listener);
  }

  /** Calls `listener` once with the reason when this scope aborts; returns the remover. */
  onAbort(listener: Listener): () => void {
    (this.listeners ??= []).push(listener);
    return () => {
      const list = this.listeners;
      if (list === undefined) return;
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Aborts with `reason` (first call wins), telling listeners and the signal if one was made. */
  abort(reason: unknown): void {
    if (this.abortedFlag) return;
    this.abortedFlag = true;
    this.reasonValue = reason;
    this.release();
    this.controller?.abort(reason);
    const first = this.first;
    const list = this.listeners;
    this.first = undefined;
    this.listeners = undefined;
    this.aborted_(reason);
    if (first !== undefined) first(reason);
    if (list !== undefined) for (const listener of list) listener(reason);
  }

  /** A subclass's own reaction to abort, called before listeners: saves a closure per call on hot paths. */
  protected aborted_(_reason: unknown): void {}

  /** Stops following the parent. */
  release(): void {
    if (this.unlink === undefined) return;
    this.unlink();
    this.unlink = undefined;
  }
}

/**
 * Context: the PolicyContext policies hand down. `signal` is the parent's — a Scope's made
 * on demand, the caller's own, or (with no parent) a fresh never-aborting one made on
 * demand, never a shared one: work that adds listeners and never removes them must not
 * pile them onto one object for the life of the process.
 */
export class Context implements PolicyContext {
  private own: AbortSignal | undefined;

  constructor(
    readonly parent: Parent,
    readonly attempt: number,
  ) {}

  get signal(): AbortSignal {
    const parent = this.parent;
    if (parent instanceof Scope) return parent.signal;
    return parent ?? (this.own ??= new AbortController().signal);
  }
}

/**
 * The context a policy that changes nothing in it hands on: an enclosing policy's Context
 * as is (no allocation), else one made from the caller's signal and attempt (1 if none).
 */
export function handOn(context: Partial<PolicyContext> | undefined): PolicyContext {
  return context instanceof Context ? context : new Context(parentOf(context), context?.attempt ?? 1);
}

/** The cancellation source behind a context a policy was given, without making a signal. */
export function parentOf(context: Partial<PolicyContext> | undefined): Parent {
  if (context instanceof Context) return context.parent;
  if (context instanceof Scope) return context; // a Scope that is its own context (see timeout.ts)
  return context?.signal;
}

/** The AbortSignal to give an API that takes one (a limiter's wait): a Scope's, made only here; the caller's; or none. */
export function abortSignalOf(parent: Parent): AbortSignal | undefined {
  return parent instanceof Scope ? parent.signal : parent;
}

export function isAborted(parent: Parent): boolean {
  return parent !== undefined && parent.aborted;
}

/** The abort reason: the Scope's, or the signal's (a standard AbortError when it gave none). */
export function reasonOf(parent: Scope | AbortSignal): unknown {
  return parent instanceof Scope ? parent.reason : abortReason(parent);
}

/** Calls `listener` once when `parent` aborts; returns the remover (which must be called). */
export function onAbort(parent: Scope | AbortSignal, listener: Listener): () => void {
  if (parent instanceof Scope) return parent.onAbort(listener);
  const handler = (): void => listener(abortReason(parent));
  watchAbort(parent, handler);
  return () => unwatchAbort(parent, handler);
}

/** Resolves after `ms` on `clock`; rejects with the reason if `parent` aborts first, removing its listener either way. */
export function sleep(clock: Clock, ms: number, parent: Parent): Promise<void> {
  if (parent === undefined) return clock.sleep(ms);
  if (parent.aborted) return Promise.reject(reasonOf(parent));
  return new Promise<void>((resolve, reject) => {
    const remove = onAbort(parent, (reason) => {
      timer.cancel();
      reject(reason);
    });
    const timer = clock.timer(() => {
      remove();
      resolve();
    }, ms);
  });
}
