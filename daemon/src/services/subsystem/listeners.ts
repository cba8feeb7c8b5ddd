/**
 * What a subsystem program listens on, read from the names the shim publishes in its directory
 * (`tcp-ADDR-PORT`, see native/subsystem/shim.c), and which host ports that opens.
 */

export interface SubsystemListener {
  /** The file name in the program's directory. */
  name: string;
  /** 0.0.0.0 for a bind to any address, else the decoy address bound. */
  address: string;
  port: number;
}

const LISTENER_NAME = /^tcp-(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})-(\d{1,5})$/;

export function parseListenerName(name: string): SubsystemListener | null {
  const m = LISTENER_NAME.exec(name);
  if (m === null) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { name, address: m[1] as string, port };
}

/**
 * The listener that takes connections to `hostIp`:`port` among `listeners`: a bind to the host's
 * own address wins over one to any address, as in the kernel.
 */
export function listenersForHost<T extends SubsystemListener>(listeners: Iterable<T>, hostIp: string): Map<number, T> {
  const ports = new Map<number, T>();
  for (const l of listeners) {
    if (l.address === hostIp) ports.set(l.port, l);
    else if (l.address === '0.0.0.0' && !(ports.get(l.port)?.address === hostIp)) ports.set(l.port, l);
  }
  return ports;
}
