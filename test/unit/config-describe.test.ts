import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { describeConfig } from '../../daemon/src/config/describe';
import { loadConfigWithData } from '../../daemon/src/config/load';
import { REPO_ROOT } from './config-test-support';

test('describe_lists_hosts_ports_macs_and_claims', () => {
  const loaded = loadConfigWithData(path.join(REPO_ROOT, 'configs/demo.yaml'));
  const text = describeConfig(loaded.config, loaded);
  assert.match(text, /^hosts \(6\)$/m);
  assert.match(text, /^ {2}198\.51\.100\.40 {2}template hp-printer {2}\(.*demo\.yaml:\d+\)$/m);
  assert.match(text, /personality {2}"HP LaserJet 1300n, 1320nw, or 3550 printer" {2}\[class vendor HP\]/);
  assert.match(text, /open {9}tcp\/80, tcp\/515, tcp\/631, tcp\/9100$/m);
  assert.match(text, /blocked {6}tcp\/25$/m);
  assert.match(text, /open {9}tcp\/22 \(banner "SSH-1\.99-Cisco-1\.25\\r\\n"\), tcp\/23 \(telnet emulator "Cisco router telnetd"; every login refused, 3 attempts\)$/m);
  assert.match(text, /tcp\/22 \(ssh emulator "OpenSSH" 8\.9p1 Ubuntu 3ubuntu0\.10, ident "SSH-2\.0-OpenSSH_8\.9p1 Ubuntu-3ubuntu0\.10", ubuntu2204 KEXINIT \(HASSH-server 41ff3ecd1458b0bf86e1b4891636213e\); every login refused, MaxAuthTries 6\)/);
  assert.match(text, /other ports {2}tcp reset, udp reset; icmp open/);
  // The Cisco router gets a Cisco MAC; the Dell-configured host a Dell one.
  assert.match(text, /mac {10}([0-9a-f]{2}:){5}[0-9a-f]{2} \(Cisco Systems; from the OS vendor\)/);
  assert.match(text, /mac {10}([0-9a-f]{2}:){5}[0-9a-f]{2} \(Dell; from "Dell"\)/);
  assert.match(text, /^claim ranges \(1\)$/m);
  assert.match(text, /^ {2}198\.51\.100\.128\/26 {2}template default {2}\(64 addresses, 0 statically bound; .*demo\.yaml:\d+\)$/m);
  assert.match(text, /e\.g\. 198\.51\.100\.129 -> /);
  assert.match(text, /^ {2}maxConnections {10}65536$/m);
});

test('describe_without_data_files_still_lists_everything', () => {
  const loaded = loadConfigWithData(path.join(REPO_ROOT, 'configs/demo.conf'), { checkDataFiles: false });
  const text = describeConfig(loaded.config);
  assert.match(text, /mac {10}\(chosen at start, from the OS vendor\)/);
  assert.equal((text.match(/^ {2}198\.51\.100\.\d+ {2}template /gm) ?? []).length, 6);
});
