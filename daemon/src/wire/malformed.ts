/** Why an incoming frame was dropped as malformed. Stable codes: they appear in logs and counters. */
export const Malformed = {
  OK: 0,
  TRUNCATED: 1,
  BAD_VERSION: 2,
  BAD_HEADER_LENGTH: 3,
  BAD_TOTAL_LENGTH: 4,
  BAD_CHECKSUM: 5,
  BAD_OPTION_LENGTH: 6,
  BAD_DATA_OFFSET: 7,
  BAD_ARP_FORMAT: 8,
  BAD_ADDRESS: 9,
  BAD_FRAGMENT: 10,
  /** A BOOTP/DHCP message with a bad op, hardware type or magic cookie. */
  BAD_DHCP: 11,
} as const;

export type MalformedCode = (typeof Malformed)[keyof typeof Malformed];

const NAMES: string[] = [];
for (const [name, code] of Object.entries(Malformed)) NAMES[code] = name.toLowerCase().replace(/_/g, '-');

export function malformedName(code: number): string {
  return NAMES[code] ?? `unknown-${code}`;
}
