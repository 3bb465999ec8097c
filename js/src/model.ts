// The subset of anywidget's model API the widget uses, with the synced traits' types
// (generated from the Python widget's traitlets: see protocol.gen.ts).

import type { DatasetWidgetState } from "./protocol.gen";

export type ViewState = DatasetWidgetState;

export interface Model {
  get<K extends keyof ViewState>(key: K): ViewState[K];
  set<K extends keyof ViewState>(key: K, value: ViewState[K]): void;
  save_changes(): void;
  on(event: string, callback: (...args: unknown[]) => void): void;
  off(event?: string | null, callback?: ((...args: unknown[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}
