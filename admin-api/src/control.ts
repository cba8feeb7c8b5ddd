/**
 * What the admin API may ask of the running daemon besides the store: the control interface the
 * daemon implements (daemon/src/admin-control.ts), and the live event feed and pcap source.
 * The API never reaches into the engine itself.
 */

export interface HostInfo {
  address: string;
  template: string;
  mac: string;
  origin: 'static' | 'claimed' | 'dhcp';
  /** probing, active or refused (static); active (claimed, dhcp). */
  state: string;
}

export type AddHostResult =
  | { ok: true; host: HostInfo }
  | { ok: false; status: 400 | 404 | 409; error: string };

export interface TemplateInfo {
  name: string;
  personality?: string;
  defaults: { tcp: string; udp: string; icmp: string };
  ports: { proto: string; port: number; action: string; service?: string }[];
}

export interface PersonalityInfo {
  name: string;
  classes: string[];
}

export interface AdminControl {
  hosts(): HostInfo[];
  /** Binds a static host; it goes through the same ARP probe as at start. */
  addHost(address: string, template: string): AddHostResult;
  removeHost(address: string): boolean;
  templates(): TemplateInfo[];
  personalities(query: string, limit: number): PersonalityInfo[];
  /** Daemon counters for /api/v1/stats. */
  stats(): Record<string, number>;
}

/** Filters of the live stream (the same as the events query, without paging). */
export interface LiveFilter {
  /** observer.name or observer.id (a fleet API streams many sensors). */
  sensor?: string;
  src?: string;
  dst?: string;
  proto?: string;
  port?: number;
  kind?: string;
}

export interface LiveEvents {
  /** Calls `onEvent` with each matching event's ECS document as JSON text; returns the unsubscribe. */
  subscribe(filter: LiveFilter, onEvent: (json: string) => void): () => void;
}

export interface PcapSource {
  /** A complete pcap file of the packets from and to `src` still held by the rotating capture. */
  extract(src: string): Promise<Buffer>;
}

export interface MetricsSource {
  contentType: string;
  render(): Promise<string>;
}
