// The subset of anywidget's model API the widget uses, with the synced traits' types.

export interface ViewState {
  filter: string;
  sort: string[];
  group_by: string[];
  group: Record<string, unknown> | null;
  group_row: number | null;
  columns: string[];
  selection: number[];
  page_size: number;
  height: number;
  score_threshold: number;
  mask_opacity: number;
  hidden_classes: Record<string, number[]>;
  changed_only: boolean;
}

export interface Model {
  get<K extends keyof ViewState>(key: K): ViewState[K];
  set<K extends keyof ViewState>(key: K, value: ViewState[K]): void;
  save_changes(): void;
  on(event: string, callback: (...args: unknown[]) => void): void;
  off(event?: string | null, callback?: ((...args: unknown[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}
