/** The live audit's rules (audit/live-judge.ts) on plain observations: clean hosts pass, each contradiction is named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiesWithSchedule, followsSchedule, judgeLive, type ConfiguredHost, type LiveObservation } from '../../daemon/src/audit/live-judge';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';

const LINUX: ConfiguredHost = {
  personality: 'Linux 4.15 - 5.6',
  classes: [{ vendor: 'Linux', family: 'Linux', generation: '4.X', deviceType: 'general purpose' }],
  family: 'linux',
  initialTtl: 64,
  printer: false,
};

function clean(over: Partial<LiveObservation> = {}): LiveObservation {
  return {
    address: '198.51.100.10',
    up: true,
    mac: '84:2b:2b:20:88:75',
    macVendor: 'Dell',
    osMatches: [{ name: 'Linux 4.15 - 5.6', accuracy: 100, classes: [{ vendor: 'Linux', osFamily: 'Linux', osGen: '4.X', type: 'general purpose' }] }],
    openPorts: ['tcp/22'],
    services: [{ proto: 'tcp', port: 22, name: 'ssh', product: 'OpenSSH', version: '8.9p1 Ubuntu 3ubuntu0.10', extraInfo: 'Ubuntu Linux; protocol 2.0', osType: 'Linux' }],
    replyTtl: 64,
    distance: 1,
    synAckOffsetsMs: [0, 1050, 3100, 7080, 15100, 31050],
    synAckWatchMs: 34_000,
    icmpTimestampReply: true,
    icmpAddressMaskReply: false,
    p0fSynAck: 'Linux 3.11 and newer',
    ...over,
  };
}

const codes = (obs: LiveObservation, cfg = LINUX): string[] => judgeLive(obs, cfg, FAMILY_BEHAVIOURS[cfg.family]).map((f) => f.code);

test('a Linux decoy that looks like Linux everywhere has no finding', () => {
  assert.deepEqual(codes(clean()), []);
});

test('p0f naming another OS for the SYN+ACK is reported; p0f naming nothing is not', () => {
  assert.deepEqual(codes(clean({ p0fSynAck: 'Windows 7 or 8' })), ['p0f-names-other-os']);
  assert.deepEqual(codes(clean({ p0fSynAck: '???' })), []);
  assert.deepEqual(codes(clean({ p0fSynAck: null })), []);
  const freebsd: ConfiguredHost = { ...LINUX, personality: 'FreeBSD 12.0-RELEASE', family: 'freebsd', classes: [{ vendor: 'FreeBSD', family: 'FreeBSD', generation: '12.X', deviceType: 'general purpose' }] };
  assert.ok(!judgeLive(clean({ p0fSynAck: 'FreeBSD 9.x or newer' }), freebsd, FAMILY_BEHAVIOURS.freebsd).some((f) => f.code === 'p0f-names-other-os'));
});

test('each layer that names another OS is reported', () => {
  assert.deepEqual(codes(clean({ osMatches: [{ name: 'Microsoft Windows 10', accuracy: 100, classes: [{ vendor: 'Microsoft', osFamily: 'Windows', osGen: '10', type: 'general purpose' }] }] })), ['nmap-names-other-os']);
  assert.deepEqual(codes(clean({ osMatches: [] })), ['nmap-names-no-os']);
  assert.deepEqual(codes(clean({ macVendor: 'Canon' })), ['mac-vendor-contradicts-os']);
  assert.deepEqual(
    codes(clean({ openPorts: ['tcp/22', 'tcp/1433'], services: [{ proto: 'tcp', port: 1433, name: 'ms-sql-s', product: 'Microsoft SQL Server 2019' }] })),
    ['service-of-other-os', 'service-names-other-os'],
  );
  assert.deepEqual(codes(clean({ services: [{ proto: 'tcp', port: 22, name: 'ssh', product: 'Cisco SSH', version: '1.25', osType: 'IOS' }] })), ['service-names-other-os']);
  assert.deepEqual(codes(clean({ replyTtl: 128 })), ['ttl-differs-from-personality']);
  assert.deepEqual(codes(clean({ icmpTimestampReply: false })), ['icmp-timestamp-of-other-os']);
  assert.deepEqual(codes(clean({ up: false })), ['host-down']);
});

test('a SYN/ACK schedule of another family is reported and named', () => {
  const windows = [0, 3000, 9000];
  assert.deepEqual(codes(clean({ synAckOffsetsMs: windows })), ['synack-schedule-of-other-os']);
  const f = judgeLive(clean({ synAckOffsetsMs: windows }), LINUX, FAMILY_BEHAVIOURS.linux)[0];
  assert.match(f?.message ?? '', /windows/);
  assert.ok(familiesWithSchedule([0, 1000, 3000, 7000, 15000, 31000]).includes('linux'));
  assert.ok(!familiesWithSchedule([0, 1000, 3000, 7000, 15000, 31000]).includes('freebsd'));
});

test('retransmissions due after the watch ends are not expected', () => {
  // The embedded family retransmits at 3, 9, 21, 45, 93 and 189 s; a 34 s watch sees three.
  assert.ok(followsSchedule([0, 3100, 9050, 21000], FAMILY_BEHAVIOURS.embedded.tcp.timing.synAckRetransmitMs, 34_000));
  assert.ok(!followsSchedule([0, 3100, 9050], FAMILY_BEHAVIOURS.embedded.tcp.timing.synAckRetransmitMs, 34_000));
  assert.ok(!followsSchedule([0, 3100, 9050, 21000], FAMILY_BEHAVIOURS.embedded.tcp.timing.synAckRetransmitMs));
});
