import type { FrameHandler, Link } from './link';

/** The parts of node_pcap's native binding we use (it ships no types). */
interface NativePcapSession {
  open_live(
    device: string, filter: string, bufferSize: number, snapLength: number, outfile: string,
    packetReady: () => void, monitor: boolean, bufferTimeout: number, warning: (msg: string) => void, promiscuous: boolean,
  ): string;
  dispatch(buf: Buffer, header: Buffer): number;
  inject(buf: Buffer): void;
  start_polling(): void;
  close(): void;
  read_callback: (() => void) | null;
}

interface NativePcapBinding {
  PcapSession: new () => NativePcapSession;
}

function loadBinding(): NativePcapBinding {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require('pcap/build/Release/pcap_binding') as NativePcapBinding;
}

/** What the capture lets through besides ARP. */
export interface CaptureFilterSpec {
  /** IPv4 destination networks of the decoys (CIDR text). */
  networks: string[];
  /**
   * MACs of DHCP clients (stack/dhcp/): their addresses are not known when the filter is fixed, so
   * every frame to these MACs passes, and so do DHCP server replies (UDP 67 → 68) sent to broadcast.
   */
  dhcpClientMacs?: string[];
  /** Real hosts in the virtual topology (`bind IP to IF`): what they send passes, whatever its destination. */
  realHostSources?: string[];
}

export interface PcapLinkOptions {
  /** Capture buffer in bytes (kernel ring). */
  bufferSize: number;
  snapLength: number;
}

/**
 * A Link over libpcap: immediate mode, promiscuous, a BPF filter narrowed to ARP and the IPv4
 * networks decoyd answers for, and inject for transmit. The native binding writes every packet
 * into one reused Buffer, so frames are parsed in place and nothing is allocated per packet here.
 */
export class PcapLink implements Link {
  private session: NativePcapSession;
  private handler: FrameHandler = () => {};
  private readonly rx: Buffer;
  private readonly header = Buffer.alloc(16);
  private closed = false;
  private viewsOf: Buffer | null = null;
  private readonly views = new Map<number, Buffer>();

  constructor(readonly name: string, capture: string[] | CaptureFilterSpec, private readonly opts: PcapLinkOptions = { bufferSize: 32 << 20, snapLength: 2048 }) {
    this.rx = Buffer.alloc(opts.snapLength);
    // The filter is fixed at open, while we still hold the privilege to open handles (see --user);
    // it covers every binding a run can make (static /24s and whole claim ranges), so it never changes.
    const spec = Array.isArray(capture) ? { networks: capture } : capture;
    this.session = this.open(buildCaptureFilter(spec.networks, spec.dhcpClientMacs, spec.realHostSources));
  }

  onFrame(handler: FrameHandler): void {
    this.handler = handler;
  }

  send(frame: Buffer, length: number): void {
    if (this.closed) return;
    this.session.inject(length === frame.length ? frame : this.viewOf(frame, length));
  }

  /**
   * The binding's inject sends a whole Buffer, so a frame needs a view of its exact length.
   * Senders reuse one transmit buffer, so views are kept per length (at most one per possible
   * length) instead of allocating a new one for every frame sent.
   */
  private viewOf(frame: Buffer, length: number): Buffer {
    if (frame !== this.viewsOf) {
      this.viewsOf = frame;
      this.views.clear();
    }
    let view = this.views.get(length);
    if (view === undefined) {
      view = frame.subarray(0, length);
      this.views.set(length, view);
    }
    return view;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
  }

  private open(filter: string): NativePcapSession {
    const binding = loadBinding();
    const session = new binding.PcapSession();
    const rx = this.rx;
    const header = this.header;
    const onPacket = (): void => {
      const caplen = header.readUInt32LE(8);
      const timeMs = header.readUInt32LE(0) * 1000 + header.readUInt32LE(4) / 1000;
      this.handler(rx, Math.min(caplen, rx.length), timeMs);
    };
    // bufferTimeout 0 selects immediate mode in the binding: each frame is delivered at once.
    session.open_live(this.name, filter, this.opts.bufferSize, this.opts.snapLength, '', onPacket, false, 0, () => {}, true);
    session.read_callback = () => {
      session.dispatch(rx, header);
    };
    session.start_polling();
    return session;
  }
}

/**
 * ARP plus IPv4 to the decoy networks (and, with DHCP clients, DHCP replies and frames to their
 * MACs). Not `inbound`: libpcap filters the first frame after
 * setfilter in userland, where `inbound` (an ancillary-data load) never matches, so the first frame
 * after start would be lost. Our own injected frames are recognised by their MAC instead.
 * Too many networks would overflow the kernel's BPF size limit, so beyond 64 we accept all IPv4.
 */
export function buildCaptureFilter(cidrs: string[], dhcpClientMacs: readonly string[] = [], realHostSources: readonly string[] = []): string {
  if (cidrs.length + dhcpClientMacs.length + realHostSources.length > 64) return 'arp or ip';
  const terms = ['arp'];
  if (cidrs.length > 0) terms.push(`(ip and (${cidrs.map((c) => `dst net ${c}`).join(' or ')}))`);
  if (dhcpClientMacs.length > 0) {
    terms.push('(udp and src port 67 and dst port 68)');
    for (const mac of dhcpClientMacs) terms.push(`ether dst ${mac}`);
  }
  for (const ip of realHostSources) terms.push(`(ip and src host ${ip})`);
  return terms.join(' or ');
}
