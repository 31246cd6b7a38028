import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Longest time spent reading and discarding after the answer (0: close at once, no lingering). */
  maxMs: number;
  /** Close sooner when nothing arrives for this long. */
  idleMs: number;
  /** Close sooner when more than this many bytes have been discarded. */
  maxBytes: number;
}

interface Lingering {
  /** socket.bytesRead when the lingering began. */
  readonly startBytes: number;
  readonly deadline: NodeJS.Timeout;
}

/**
 * Lingering close (as nginx's `lingering_close`) for answers sent before the request has fully arrived: an upload
 * refused early (401, 413, 429, …) while the client is still sending. Closing such a socket with unread bytes in its
 * receive buffer makes the kernel send a reset, and a client that is still writing (undici, curl, Python requests)
 * then sees a broken pipe instead of the answer it was sent. So the socket is half-closed after the answer (FIN) and
 * the rest of the request is read and thrown away until the client has sent it all or closes — or until one of the
 * bounds is hit, so that a client cannot hold the socket open by sending forever or by stalling.
 */
export class LingeringClose {
  private readonly active = new Map<Socket, Lingering>();

  constructor(private readonly limits: LingerLimits) {}

  /** Sockets lingering now. */
  get size(): number {
    return this.active.size;
  }

  has(socket: Socket): boolean {
    return this.active.has(socket);
  }

  /**
   * Lingers once the answer to `incoming` has gone out. Node's HTTP server ends a `Connection: close` exchange by
   * calling `socket.destroySoon()`, which destroys the socket (a reset, when request bytes are still arriving) as
   * soon as the answer is flushed; on this socket that call starts the lingering close instead. @hono/node-server's
   * own drain of an unread body ends the same way.
   */
  afterAnswer(incoming: IncomingMessage): void {
    const socket = incoming.socket;
    if (!socket || socket.destroyed || this.limits.maxMs <= 0) return;
    socket.destroySoon = () => this.start(socket, incoming);
  }

  /**
   * Half-closes `socket` after whatever it still has to write, then discards what arrives until the request in
   * `incoming` has been received in full (or, without one, until the client closes), then closes it.
   */
  start(socket: Socket, incoming?: IncomingMessage): void {
    if (socket.destroyed || this.active.has(socket)) return;
    const closeNow = () => socket.destroy();
    // Nothing unread is left: a plain close (FIN), never a reset, once the answer has been flushed.
    const closeWhenFlushed = () => {
      if (socket.writableFinished) socket.destroy();
      else socket.once('finish', () => socket.destroy());
    };
    const deadline = setTimeout(closeNow, this.limits.maxMs);
    deadline.unref();
    this.active.set(socket, { startBytes: socket.bytesRead, deadline });
    socket.once('close', () => {
      clearTimeout(deadline);
      this.active.delete(socket);
    });
    // Node's HTTP parser refreshes this timer on every read, even though it consumes the socket without 'data' events.
    socket.setTimeout(this.limits.idleMs, closeNow);
    socket.once('end', closeWhenFlushed); // the client has stopped sending
    socket.end();
    if (!incoming) return;
    // As Node's own IncomingMessage._dump(): whoever was reading the body has given up on it.
    incoming.removeAllListeners('data');
    incoming.on('data', () => this.received(socket));
    if (incoming.readableEnded) closeWhenFlushed();
    else incoming.once('end', closeWhenFlushed);
    incoming.resume();
  }

  /** More bytes arrived on a lingering socket: closes it once the byte bound is passed. */
  received(socket: Socket): void {
    const lingering = this.active.get(socket);
    if (lingering && socket.bytesRead - lingering.startBytes > this.limits.maxBytes) socket.destroy();
  }

  /** Closes every lingering socket at once (server shutdown). */
  closeAll(): void {
    for (const socket of this.active.keys()) socket.destroy();
  }
}
