// A Transport that records what the client sends and lets a test play the kernel's answers.
import type { Transport } from "../src/client";
import type { Request } from "../src/protocol";

export class FakeTransport implements Transport {
  sent: Request[] = [];
  private handler: ((msg: unknown, buffers: DataView[]) => void) | null = null;
  send(msg: Request): void {
    this.sent.push(msg);
  }
  listen(handler: (msg: unknown, buffers: DataView[]) => void): () => void {
    this.handler = handler;
    return () => { this.handler = null; };
  }
  reply(msg: unknown, buffers: DataView[] = []): void {
    this.handler?.(msg, buffers);
  }
}
