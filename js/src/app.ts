// The widget's composition root: builds the request client, the query controller, the
// toolbar, legend, grid and detail view, lays them out and routes the controller's changes and
// the model's display-only changes to the parts that draw them.

import { AudioStore, releaseAudio } from "./audio";
import { KERNEL_GONE, RequestClient, type Transport } from "./client";
import { QueryController, type Change } from "./controller";
import { Detail } from "./detail";
import { h } from "./dom";
import { Grid } from "./grid";
import { ImageCompareControl } from "./imagecompare";
import { Legend } from "./legend";
import { claimKeys } from "./shortcuts";
import type { Model, ViewState } from "./model";
import { ThumbStore } from "./thumbs";
import { Toolbar } from "./toolbar";
import { VersionPicker } from "./versionpicker";

const OVERLAY_KEYS: (keyof ViewState)[] = ["score_threshold", "mask_opacity", "hidden_classes"];

function modelTransport(model: Model): Transport {
  return {
    send: (msg, buffers) => model.send(msg, undefined, buffers),
    listen: (handler) => {
      const cb = (...args: unknown[]): void => handler(args[0], (args[1] as DataView[]) ?? []);
      model.on("msg:custom", cb);
      return () => model.off("msg:custom", cb);
    },
    // ipywidgets' model events: "comm_live_update" fires when the kernel restarts (its
    // comm goes dead), "comm:close" when the comm is closed under the widget.
    onGone: (handler) => {
      const cb = (): void => handler();
      model.on("comm_live_update", cb);
      model.on("comm:close", cb);
      return () => {
        model.off("comm_live_update", cb);
        model.off("comm:close", cb);
      };
    },
  };
}

export class App {
  readonly root: HTMLElement;
  private readonly client: RequestClient;
  private readonly query: QueryController;
  private readonly toolbar: Toolbar;
  private readonly legend: Legend;
  private readonly grid: Grid;
  private readonly detail: Detail;
  private imageControl: ImageCompareControl | null = null;
  private readonly versions: VersionPicker;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly model: Model,
    host: HTMLElement,
  ) {
    this.client = new RequestClient(modelTransport(model));
    this.query = new QueryController(model, this.client, {
      visibleRows: () => this.grid.visibleCount(),
      update: (change) => this.routes[change](),
    });
    this.toolbar = new Toolbar(this.query, model);
    this.legend = new Legend(model);
    const images = new ImageCompareControl(model);
    this.legend.extra = images.el;
    const detailThumbs = new ThumbStore(this.client, 1024, 40);
    this.detail = new Detail(detailThumbs, (col) => this.query.overlay(col), () => this.root.focus(),
      () => this.query.info?.compare?.labels ?? []);
    // One store per thumbnail size: a density change asks for thumbnails at its own size, and
    // going back finds the earlier ones still cached.
    const thumbs = new Map<number, ThumbStore>();
    const thumbsOf = (size: number): ThumbStore => {
      let store = thumbs.get(size);
      if (!store) thumbs.set(size, (store = new ThumbStore(this.client, size)));
      return store;
    };
    this.grid = new Grid(this.query, model, {
      thumbs: thumbsOf,
      audio: new AudioStore(this.client),
      detail: this.detail,
      focus: () => this.root.focus({ preventScroll: true }),
    });
    this.versions = new VersionPicker(model, (text) => this.query.notice(text));
    this.toolbar.el.appendChild(this.versions.el);
    this.root = h("div", { class: "dv-root", attrs: { tabindex: "-1" } }, [
      this.toolbar.el,
      this.versions.error,
      this.toolbar.chips,
      this.legend.el,
      // The transitions panel (compare mode) stands beside the grid, so both stay in view.
      h("div", { class: "dv-body" }, [this.grid.el, this.toolbar.side]),
      this.toolbar.status,
      this.detail.el,
    ]);
    host.appendChild(this.root);
    this.applyHeight();
    this.root.addEventListener("keydown", (e) => this.grid.onKey(e, this.root));
    this.cleanups.push(claimKeys(this.root));

    const onOverlay = (): void => { this.legend.sync(); this.grid.repaint(); this.detail.repaint(); };
    // The controller (listening first) has the new columns already.
    const onImages = (): void => { images.sync(); this.detail.setColumns(this.query.columns); };
    model.on("change:image_compare", onImages);
    this.cleanups.push(() => model.off("change:image_compare", onImages));
    this.imageControl = images;
    const onSelection = (): void => {
      this.grid.refreshSelection();
      this.query.selectionChanged();
    };
    const onHeight = (): void => this.applyHeight();
    const onDensity = (): void => this.toolbar.syncDensity();
    // The kernel swapped the table (version picker): answers to what was asked of the old one
    // must not reach the new grid, so they are dropped before the new table is loaded.
    const onSource = (): void => {
      this.client.cancelAll("the widget now shows another table");
      void this.query.restart();
    };
    for (const k of OVERLAY_KEYS) model.on(`change:${k}`, onOverlay);
    model.on("change:selection", onSelection);
    model.on("change:height", onHeight);
    model.on("change:density", onDensity);
    model.on("change:source_generation", onSource);
    this.cleanups.push(() => {
      for (const k of OVERLAY_KEYS) model.off(`change:${k}`, onOverlay);
      model.off("change:selection", onSelection);
      model.off("change:height", onHeight);
      model.off("change:density", onDensity);
      model.off("change:source_generation", onSource);
    });
    this.cleanups.push(this.client.onGone(() => this.showGone()));
    void this.query.start();
  }

  /** The kernel went: say so above everything, with what to do (KERNEL_GONE). */
  private showGone(): void {
    if (this.root.querySelector(".dv-gone")) return;
    this.root.insertBefore(h("div", { class: "dv-gone", text: KERNEL_GONE, attrs: { role: "alert" } }), this.root.firstChild);
  }

  destroy(): void {
    this.query.destroy();
    this.grid.destroy();
    this.toolbar.destroy();
    this.versions.destroy();
    for (const c of this.cleanups) c();
    releaseAudio(this.root);
    this.client.close();
    this.root.remove();
  }

  /** What each change the controller reports redraws (a Record, so none is forgotten). */
  private readonly routes: Record<Change, () => void> = {
    info: () => this.showInfo(),
    reset: () => {
      this.grid.reset();
      this.toolbar.reset();
      this.grid.renderHeader();
    },
    header: () => this.grid.renderHeader(),
    chips: () => this.toolbar.renderChips(),
    rows: () => {
      this.toolbar.showStatus();
      this.grid.renderHeader(); // row-number width follows the count
      this.grid.drawNow();
    },
    status: () => this.toolbar.showStatus(),
    repaint: () => this.grid.repaint(),
    compare: () => this.toolbar.showCompare(),
  };

  private showInfo(): void {
    const info = this.query.info;
    if (!info) return;
    this.toolbar.setup();
    this.imageControl?.setup(info);
    const images = info.columns.filter((c) => c.kind.includes("image")).map((c) => c.name);
    const none = { boxes: false, scores: false, masks: false, box_classes: {}, mask_classes: {}, exact: true };
    this.legend.setup(images.map((name) => ({
      column: name, lists: info.class_lists[name] ?? [], overlays: info.overlays[name] ?? none,
    })), this.query.classes);
  }

  private applyHeight(): void {
    this.root.style.height = `${Math.max(240, this.model.get("height"))}px`;
  }
}
