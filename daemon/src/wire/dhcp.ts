import { Malformed } from './malformed';

/**
 * DHCP (RFC 2131) over BOOTP (RFC 951): a reusable view over a received message and a writer
 * into a caller's buffer. Options (RFC 2132) are indexed once per wrap into a fixed table, so
 * lookups cost nothing and nothing is allocated per message.
 */

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
/** Fixed BOOTP header up to and including the magic cookie. */
export const DHCP_FIXED_LEN = 240;
/** Smallest BOOTP message (RFC 951's 300 octets); clients pad short messages up to it. */
export const BOOTP_MIN_LEN = 300;
export const DHCP_MAGIC_COOKIE = 0x63825363;

export const BootpOp = { REQUEST: 1, REPLY: 2 } as const;

export const DhcpMessageType = {
  DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8,
} as const;

/** Option codes decoyd reads or writes (RFC 2132 and later). */
export const DhcpOption = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  HOST_NAME: 12,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  CLIENT_FQDN: 81,
  END: 255,
} as const;

/** BOOTP flags: the broadcast bit asks the server to broadcast its reply. */
export const BOOTP_FLAG_BROADCAST = 0x8000;

const OFF_OP = 0;
const OFF_HTYPE = 1;
const OFF_HLEN = 2;
const OFF_HOPS = 3;
const OFF_XID = 4;
const OFF_SECS = 8;
const OFF_FLAGS = 10;
const OFF_CIADDR = 12;
const OFF_YIADDR = 16;
const OFF_SIADDR = 20;
const OFF_GIADDR = 24;
export const DHCP_OFF_CHADDR = 28;
const OFF_SNAME = 44;
const OFF_FILE = 108;
const OFF_COOKIE = 236;
const SNAME_LEN = 64;
const FILE_LEN = 128;
const HTYPE_ETHERNET = 1;

export class DhcpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  len = 0;
  /** Per option code: offset of its value (first occurrence), or -1. */
  private readonly optOff = new Int32Array(256);
  private readonly optLen = new Uint8Array(256);

  /**
   * Validate a BOOTP/DHCP message of `len` bytes at `off`: Ethernet hardware addresses, the magic
   * cookie, and options that stay inside their field and end properly (an option overload, RFC 2132
   * 9.3, also indexes `file` and `sname`). Anything else is malformed and must be dropped.
   */
  wrap(buf: Buffer, off: number, len: number): number {
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.optOff.fill(-1);
    if (len < DHCP_FIXED_LEN) return Malformed.TRUNCATED;
    const op = buf[off + OFF_OP];
    if (op !== BootpOp.REQUEST && op !== BootpOp.REPLY) return Malformed.BAD_DHCP;
    if (buf[off + OFF_HTYPE] !== HTYPE_ETHERNET || buf[off + OFF_HLEN] !== 6) return Malformed.BAD_DHCP;
    if (buf.readUInt32BE(off + OFF_COOKIE) !== DHCP_MAGIC_COOKIE) return Malformed.BAD_DHCP;
    const status = this.index(off + DHCP_FIXED_LEN, off + len, true);
    if (status !== Malformed.OK) return status;
    const overload = this.optOff[DhcpOption.OVERLOAD];
    if (overload >= 0) {
      if (this.optLen[DhcpOption.OVERLOAD] !== 1) return Malformed.BAD_OPTION_LENGTH;
      const which = buf[overload];
      if (which & 1) {
        const s = this.index(off + OFF_FILE, off + OFF_FILE + FILE_LEN, false);
        if (s !== Malformed.OK) return s;
      }
      if (which & 2) {
        const s = this.index(off + OFF_SNAME, off + OFF_SNAME + SNAME_LEN, false);
        if (s !== Malformed.OK) return s;
      }
    }
    return Malformed.OK;
  }

  /** Index options in [start, end). The main area must close with END; overloaded fields may just fill up. */
  private index(start: number, end: number, needEnd: boolean): number {
    const buf = this.buf;
    let p = start;
    while (p < end) {
      const code = buf[p];
      if (code === DhcpOption.PAD) { p++; continue; }
      if (code === DhcpOption.END) return Malformed.OK;
      if (p + 2 > end) return Malformed.BAD_OPTION_LENGTH;
      const n = buf[p + 1];
      if (p + 2 + n > end) return Malformed.BAD_OPTION_LENGTH;
      if (this.optOff[code] < 0) {
        this.optOff[code] = p + 2;
        this.optLen[code] = n;
      }
      p += 2 + n;
    }
    return needEnd ? Malformed.TRUNCATED : Malformed.OK;
  }

  get op(): number { return this.buf[this.off + OFF_OP]; }
  get hops(): number { return this.buf[this.off + OFF_HOPS]; }
  get xid(): number { return this.buf.readUInt32BE(this.off + OFF_XID); }
  get secs(): number { return this.buf.readUInt16BE(this.off + OFF_SECS); }
  get flags(): number { return this.buf.readUInt16BE(this.off + OFF_FLAGS); }
  get ciaddr(): number { return this.buf.readUInt32BE(this.off + OFF_CIADDR); }
  get yiaddr(): number { return this.buf.readUInt32BE(this.off + OFF_YIADDR); }
  get siaddr(): number { return this.buf.readUInt32BE(this.off + OFF_SIADDR); }
  get giaddr(): number { return this.buf.readUInt32BE(this.off + OFF_GIADDR); }
  get chaddrOffset(): number { return this.off + DHCP_OFF_CHADDR; }

  /** Offset of an option's value, or -1 when absent. */
  optionOffset(code: number): number { return this.optOff[code]; }
  optionLength(code: number): number { return this.optOff[code] < 0 ? 0 : this.optLen[code]; }

  /** Option 53, or 0 when absent or not one byte (a plain BOOTP message). */
  get messageType(): number {
    return this.optionLength(DhcpOption.MESSAGE_TYPE) === 1 ? this.buf[this.optOff[DhcpOption.MESSAGE_TYPE]] : 0;
  }

  /** A 4-byte option as an unsigned number, or -1 when absent or of another length. */
  u32Option(code: number): number {
    return this.optionLength(code) === 4 ? this.buf.readUInt32BE(this.optOff[code]) : -1;
  }

  /** The first address of an address-list option (router), or -1. */
  firstAddress(code: number): number {
    const n = this.optionLength(code);
    return n >= 4 && n % 4 === 0 ? this.buf.readUInt32BE(this.optOff[code]) : -1;
  }

  /** The option's bytes as a copy (for rare, non-hot uses: tests, parameter lists). */
  optionBytes(code: number): Buffer | undefined {
    const at = this.optOff[code];
    return at < 0 ? undefined : Buffer.from(this.buf.subarray(at, at + this.optLen[code]));
  }

  /** An ASCII option (host name, vendor class, message), or undefined. */
  optionText(code: number): string | undefined {
    const at = this.optOff[code];
    return at < 0 ? undefined : this.buf.toString('latin1', at, at + this.optLen[code]);
  }
}

export interface BootpFields {
  op: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  chaddr: Buffer;
}

/**
 * Writes one DHCP message into `buf` at `off`: `begin` lays down the BOOTP header and the cookie,
 * each `option*` call appends an option, `end` closes with END and pads to the BOOTP minimum.
 * The caller provides a buffer large enough (options are bounded by what decoyd sends: < 576 bytes).
 */
export class DhcpWriter {
  private p = 0;

  constructor(readonly buf: Buffer, readonly off: number) {}

  begin(f: BootpFields): void {
    const b = this.buf;
    const o = this.off;
    b.fill(0, o, o + DHCP_FIXED_LEN);
    b[o + OFF_OP] = f.op;
    b[o + OFF_HTYPE] = HTYPE_ETHERNET;
    b[o + OFF_HLEN] = 6;
    b.writeUInt32BE(f.xid >>> 0, o + OFF_XID);
    b.writeUInt16BE(f.secs & 0xffff, o + OFF_SECS);
    b.writeUInt16BE(f.flags & 0xffff, o + OFF_FLAGS);
    b.writeUInt32BE(f.ciaddr >>> 0, o + OFF_CIADDR);
    b.writeUInt32BE(f.yiaddr >>> 0, o + OFF_YIADDR);
    b.writeUInt32BE(f.siaddr >>> 0, o + OFF_SIADDR);
    b.writeUInt32BE(f.giaddr >>> 0, o + OFF_GIADDR);
    f.chaddr.copy(b, o + DHCP_OFF_CHADDR, 0, 6);
    b.writeUInt32BE(DHCP_MAGIC_COOKIE, o + OFF_COOKIE);
    this.p = o + DHCP_FIXED_LEN;
  }

  optionU8(code: number, value: number): void {
    this.buf[this.p] = code;
    this.buf[this.p + 1] = 1;
    this.buf[this.p + 2] = value;
    this.p += 3;
  }

  optionU16(code: number, value: number): void {
    this.buf[this.p] = code;
    this.buf[this.p + 1] = 2;
    this.buf.writeUInt16BE(value & 0xffff, this.p + 2);
    this.p += 4;
  }

  optionU32(code: number, value: number): void {
    this.buf[this.p] = code;
    this.buf[this.p + 1] = 4;
    this.buf.writeUInt32BE(value >>> 0, this.p + 2);
    this.p += 6;
  }

  /** An option whose value is `data` (at most 255 bytes). */
  optionBytes(code: number, data: Uint8Array): void {
    if (data.length > 255) throw new RangeError(`DHCP option ${code} longer than 255 bytes`);
    this.buf[this.p] = code;
    this.buf[this.p + 1] = data.length;
    this.buf.set(data, this.p + 2);
    this.p += 2 + data.length;
  }

  /** Close the options with END and zero-pad to BOOTP_MIN_LEN. Returns the message length. */
  end(): number {
    this.buf[this.p++] = DhcpOption.END;
    const len = this.p - this.off;
    if (len < BOOTP_MIN_LEN) {
      this.buf.fill(0, this.p, this.off + BOOTP_MIN_LEN);
      return BOOTP_MIN_LEN;
    }
    return len;
  }
}
