/** ICMP errors are rate-limited per decoy and peer as the personality's OS does (Linux: burst 6, then 1/s). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { udpFrame } from '../helpers/frames';
import { IcmpErrorLimiter } from '../../daemon/src/stack/icmp-error-limiter';
import { LINUX_ICMP_ERROR_LIMIT } from '../../daemon/src/personality/host-personality';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness } from './stack-harness';

test('a Linux decoy answers a burst of 6 closed UDP ports, then one per second, per peer', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  const probe = (port: number, from = CLIENT_IP, fromMac = CLIENT_MAC): void => {
    h.feed(udpFrame(mac, fromMac, from, DECOY_IP, 40000, port, Buffer.from('x')));
  };
  for (let port = 1000; port < 1010; port++) probe(port);
  const burst = h.take().filter((f) => f.icmp?.type === 3);
  assert.equal(burst.length, 6, 'burst of 6 port unreachables');

  // Another scanner has its own bucket.
  probe(2000, '198.51.100.3', '02:00:5e:00:00:03');
  assert.equal(h.take().filter((f) => f.icmp?.type === 3).length, 1);

  // One more second earns one more error.
  h.advance(1000, 1000);
  probe(1010);
  probe(1011);
  assert.equal(h.take().filter((f) => f.icmp?.type === 3).length, 1);
});

test('IcmpErrorLimiter: no limit means every error goes out; peers beyond the bound start afresh', () => {
  const lim = new IcmpErrorLimiter(2);
  for (let i = 0; i < 50; i++) assert.equal(lim.allow(1, 9, null, 0), true);
  for (let i = 0; i < 6; i++) assert.equal(lim.allow(1, 9, LINUX_ICMP_ERROR_LIMIT, 0), true);
  assert.equal(lim.allow(1, 9, LINUX_ICMP_ERROR_LIMIT, 999), false);
  assert.equal(lim.allow(1, 9, LINUX_ICMP_ERROR_LIMIT, 1000), true);
  // Two more peers push peer 9 out of the decoy's table: it is forgotten and starts with a full burst.
  lim.allow(1, 10, LINUX_ICMP_ERROR_LIMIT, 1000);
  lim.allow(1, 11, LINUX_ICMP_ERROR_LIMIT, 1000);
  assert.equal(lim.allow(1, 9, LINUX_ICMP_ERROR_LIMIT, 1000), true);
});
