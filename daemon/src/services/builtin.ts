import type { DatagramService, Endpoint, StreamContext, StreamService, StreamSession } from './service';
import type { ServiceSpec } from '../config/types';

/** Sends a banner as soon as the connection opens, then reads and discards. */
export class BannerService implements StreamService {
  readonly name = 'banner';
  constructor(private readonly banner: string) {}
  open(ctx: StreamContext): StreamSession {
    ctx.write(this.banner);
    return { onData: () => {}, onEnd: () => ctx.end(), onClose: () => {} };
  }
}

/** RFC 862 echo: every byte comes back. */
export class EchoService implements StreamService {
  readonly name = 'echo';
  open(ctx: StreamContext): StreamSession {
    return { onData: (data) => { ctx.write(data); }, onEnd: () => ctx.end(), onClose: () => {} };
  }
}

/** Accepts and discards (RFC 863), closing when the peer does. */
export class DiscardService implements StreamService {
  readonly name = 'discard';
  open(ctx: StreamContext): StreamSession {
    return { onData: () => {}, onEnd: () => ctx.end(), onClose: () => {} };
  }
}

export class UdpEchoService implements DatagramService {
  readonly name = 'echo';
  onDatagram(data: Buffer, _remote: Endpoint, _local: Endpoint, reply: (data: Buffer) => void): void {
    reply(data);
  }
}

export class UdpBannerService implements DatagramService {
  readonly name = 'banner';
  private readonly bytes: Buffer;
  constructor(banner: string) { this.bytes = Buffer.from(banner, 'latin1'); }
  onDatagram(_data: Buffer, _remote: Endpoint, _local: Endpoint, reply: (data: Buffer) => void): void {
    reply(this.bytes);
  }
}

export function streamServiceFor(spec: ServiceSpec | undefined): StreamService {
  if (spec === undefined || spec.kind === 'none') return new DiscardService();
  if (spec.kind === 'echo') return new EchoService();
  return new BannerService(spec.banner);
}

export function datagramServiceFor(spec: ServiceSpec | undefined): DatagramService | undefined {
  if (spec === undefined || spec.kind === 'none') return undefined;
  if (spec.kind === 'echo') return new UdpEchoService();
  return new UdpBannerService(spec.banner);
}
