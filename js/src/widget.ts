// anywidget entry point.
import "./styles.css";
import { App } from "./app";
import type { Model } from "./model";

function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  const app = new App(model, el);
  return () => app.destroy();
}

export default { render };
