// Request/response over the widget's custom messages: ids, timeouts, cancellation.
//
// The kernel answers requests one by one; cancelling here means the answer, when it comes, is
// dropped and the caller's promise is rejected at once. A request sent on a `channel` cancels
// the previous unfinished request on that channel: scrolling or typing fast never leaves a queue
// of stale pages to render.
//
// A widget outlives its kernel in the page: after a restart the comm is dead and nothing will
// ever answer (JupyterLab's own send then throws a bare "Cannot send"). The transport reports
// that, or the first failed send reveals it; from then on every request fails at once with
// KERNEL_GONE, which says what happened and what to do.

import type { Request, RequestKind, ResponseFor } from "./protocol";
import { isResponse } from "./protocol";

export interface Transport {
  send(msg: Request, buffers: ArrayBuffer[]): void;
  /** Subscribe to custom messages; returns the unsubscribe function. */
  listen(handler: (msg: unknown, buffers: DataView[]) => void): () => void;
  /** Call `handler` once the connection to the kernel is lost for good; returns the
   * unsubscribe function. */
  onGone?(handler: () => void): () => void;
}

export type RequestErrorReason = "timeout" | "cancelled" | "server" | "closed" | "gone";

export const KERNEL_GONE =
  "The kernel of this widget is gone (it was restarted, shut down or died), so the table cannot be " +
  "read any more. Re-run the cell to show it again; if the kernel died, restart it first.";

export class RequestError extends Error {
  readonly reason: RequestErrorReason;
  /** For filter errors: 0-based character offset in the filter text, else -1. */
  readonly position: number;
  readonly requestKind: string;

  constructor(reason: RequestErrorReason, message: string, requestKind: string, position = -1) {
    super(message);
    this.name = "RequestError";
    this.reason = reason;
    this.position = position;
    this.requestKind = requestKind;
  }
}

export interface Answer<K extends RequestKind> {
  msg: ResponseFor[K];
  buffers: DataView[];
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A newer request on the same channel cancels this one. */
  channel?: string;
  /** Wait as long as it takes, calling this once the timeout has passed instead of failing.
   * The kernel reads widget messages only between cells: under Run All a widget's first
   * request waits behind every queued cell, and its answer comes, late but whole. */
  onSlow?: () => void;
}

type RequestBody<K extends RequestKind> = Omit<Extract<Request, { kind: K }>, "id" | "kind">;

interface Pending {
  kind: RequestKind;
  resolve: (answer: { msg: unknown; buffers: DataView[] }) => void;
  reject: (error: RequestError) => void;
  timer: ReturnType<typeof setTimeout>;
  channel: string | undefined;
  cleanup: () => void;
}

export class RequestClient {
  private readonly pending = new Map<string, Pending>();
  private readonly channels = new Map<string, string>();
  private readonly unlisten: () => void;
  private counter = 0;
  private closed = false;
  private gone = false;
  private readonly goneHandlers = new Set<() => void>();
  private readonly unwatch: () => void;
  readonly defaultTimeoutMs: number;

  constructor(
    private readonly transport: Transport,
    options: { timeoutMs?: number } = {},
  ) {
    this.defaultTimeoutMs = options.timeoutMs ?? 60_000;
    this.unlisten = transport.listen((msg, buffers) => this.receive(msg, buffers));
    this.unwatch = transport.onGone?.(() => this.lost()) ?? (() => undefined);
  }

  /** Whether the kernel is gone (see KERNEL_GONE). */
  get kernelGone(): boolean {
    return this.gone;
  }

  /** Call `handler` when the kernel goes (at once if it has). */
  onGone(handler: () => void): () => void {
    if (this.gone) handler();
    else this.goneHandlers.add(handler);
    return () => this.goneHandlers.delete(handler);
  }

  /** The kernel is gone: every request, pending or future, fails with KERNEL_GONE. */
  private lost(): void {
    if (this.gone || this.closed) return;
    this.gone = true;
    for (const id of [...this.pending.keys()]) {
      const entry = this.settle(id);
      entry?.reject(new RequestError("gone", KERNEL_GONE, entry.kind));
    }
    for (const h of [...this.goneHandlers]) h();
    this.goneHandlers.clear();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  request<K extends RequestKind>(
    kind: K,
    body: RequestBody<K>,
    options: RequestOptions = {},
  ): Promise<Answer<K>> {
    if (this.closed) {
      return Promise.reject(new RequestError("closed", "the widget was closed", kind));
    }
    if (this.gone) return Promise.reject(new RequestError("gone", KERNEL_GONE, kind));
    const id = `r${++this.counter}`;
    const { channel, signal } = options;
    if (channel !== undefined) {
      const previous = this.channels.get(channel);
      if (previous !== undefined) this.cancel(previous, "superseded by a newer request");
      this.channels.set(channel, id);
    }
    return new Promise<Answer<K>>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new RequestError("cancelled", "cancelled", kind));
        return;
      }
      const onAbort = (): void => this.cancel(id, "cancelled");
      signal?.addEventListener("abort", onAbort, { once: true });
      const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
      const timer = setTimeout(() => {
        if (options.onSlow) options.onSlow();
        else {
          this.settle(id)?.reject(
            new RequestError("timeout", `the kernel did not answer within ${timeoutMs / 1000} s`, kind),
          );
        }
      }, timeoutMs);
      this.pending.set(id, {
        kind,
        resolve: resolve as Pending["resolve"],
        reject,
        timer,
        channel,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      });
      const msg = { ...body, id, kind } as unknown as Request;
      try {
        this.transport.send(msg, []);
      } catch {
        // The comm cannot carry messages any more (its kernel connection is disposed).
        this.lost();
      }
    });
  }

  /** Cancel one request by id: its promise rejects now and its answer will be ignored. */
  cancel(id: string, why = "cancelled"): void {
    const entry = this.settle(id);
    entry?.reject(new RequestError("cancelled", why, entry.kind));
  }

  /** Cancel every unanswered request (the kernel now shows another table: answers to them
   * would describe the old one). Their promises reject now; late answers are ignored. */
  cancelAll(why = "cancelled"): void {
    for (const id of [...this.pending.keys()]) this.cancel(id, why);
  }

  close(): void {
    this.closed = true;
    this.unwatch();
    this.goneHandlers.clear();
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(new RequestError("closed", "the widget was closed", "close"));
    }
    this.unlisten();
  }

  private settle(id: string): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.cleanup();
    if (entry.channel !== undefined && this.channels.get(entry.channel) === id) {
      this.channels.delete(entry.channel);
    }
    return entry;
  }

  private receive(msg: unknown, buffers: DataView[]): void {
    if (!isResponse(msg)) return;
    const entry = this.settle(msg.id);
    if (entry === undefined) return; // cancelled, timed out, or not ours
    if (msg.kind === "error") {
      entry.reject(
        new RequestError("server", msg.error, msg.request_kind || entry.kind, msg.position ?? -1),
      );
    } else if (msg.kind !== `${entry.kind}-response`) {
      entry.reject(
        new RequestError("server", `expected ${entry.kind}-response, got ${msg.kind}`, entry.kind),
      );
    } else {
      entry.resolve({ msg, buffers });
    }
  }
}
