/**
 * The nmap XML reader used by the e2e tests: a real `nmap -n -O -p 22,23,80 -oX -` report (taken
 * from a scan of a decoyd demo decoy in the lab) and the XML corner cases nmap output can contain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostByAddress, parseNmapXml, portOf } from '../helpers/nmap';
import { XmlParseError, parseXml } from '../helpers/xml-lite';

const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>
<!-- Nmap 7.93 scan initiated Mon Nov 23 02:27:21 2026 as: nmap -n -O -p 22,23,80 -oX - 198.51.100.10 -->
<nmaprun scanner="nmap" args="nmap -n -O -p 22,23,80 -oX - 198.51.100.10" start="1795400841" startstr="Mon Nov 23 02:27:21 2026" version="7.93" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="3" services="22-23,80"/>
<verbose level="0"/>
<debugging level="0"/>
<hosthint><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="198.51.100.10" addrtype="ipv4"/>
<address addr="84:2B:2B:20:88:75" addrtype="mac" vendor="Dell"/>
<hostnames>
</hostnames>
</hosthint>
<host starttime="1795400841" endtime="1795400843"><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="198.51.100.10" addrtype="ipv4"/>
<address addr="84:2B:2B:20:88:75" addrtype="mac" vendor="Dell"/>
<hostnames>
</hostnames>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ssh" method="table" conf="3"/></port>
<port protocol="tcp" portid="23"><state state="closed" reason="reset" reason_ttl="64"/><service name="telnet" method="table" conf="3"/></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="http" method="table" conf="3"/></port>
</ports>
<os><portused state="open" proto="tcp" portid="22"/>
<portused state="closed" proto="tcp" portid="23"/>
<portused state="closed" proto="udp" portid="32738"/>
<osmatch name="Linux 4.15 - 5.6" accuracy="100" line="67238">
<osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="4.X" accuracy="100"><cpe>cpe:/o:linux:linux_kernel:4</cpe></osclass>
<osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="5.X" accuracy="100"><cpe>cpe:/o:linux:linux_kernel:5</cpe></osclass>
</osmatch>
</os>
<uptime seconds="864001" lastboot="Fri Nov 13 02:27:22 2026"/>
<distance value="1"/>
<tcpsequence index="259" difficulty="Good luck!" values="E3E831ED,49A92FDA,580D0CBA,7DB06ED5,D14B7B44,AE3F2DC"/>
<ipidsequence class="All zeros" values="0,0,0,0,0,0"/>
<tcptssequence class="1000HZ" values="337F989A,337F9902,337F996A,337F99D6,337F9A43,337F9AAA"/>
<times srtt="1651" rttvar="2287" to="100000"/>
</host>
<runstats><finished time="1795400843" timestr="Mon Nov 23 02:27:23 2026" summary="Nmap done at Mon Nov 23 02:27:23 2026; 1 IP address (1 host up) scanned in 2.56 seconds" elapsed="2.56" exit="success"/><hosts up="1" down="0" total="1"/>
</runstats>
</nmaprun>`;

test('nmap report: host, MAC and vendor, ports with state and reason', () => {
  const run = parseNmapXml(REPORT);
  assert.equal(run.hosts.length, 1, 'hosthint is not a host');
  assert.equal(run.hostsUp, 1);
  assert.equal(run.hostsDown, 0);
  assert.match(run.args, /^nmap -n -O/);
  const host = hostByAddress(run, '198.51.100.10');
  assert.ok(host);
  assert.equal(host.state, 'up');
  assert.equal(host.stateReason, 'arp-response');
  assert.equal(host.mac, '84:2B:2B:20:88:75');
  assert.equal(host.vendor, 'Dell');
  assert.equal(host.distance, 1);
  assert.deepEqual(portOf(host, 'tcp', 22), { protocol: 'tcp', port: 22, state: 'open', reason: 'syn-ack', reasonTtl: 64, service: { name: 'ssh', method: 'table' } });
  assert.equal(portOf(host, 'tcp', 23)?.state, 'closed');
  assert.equal(portOf(host, 'tcp', 23)?.reason, 'reset');
  assert.equal(portOf(host, 'udp', 22), undefined);
  assert.deepEqual(host.extraPorts, {});
});

test('nmap report: OS matches with accuracy, database line and classes', () => {
  const host = parseNmapXml(REPORT).hosts[0];
  assert.ok(host);
  assert.equal(host.osMatches.length, 1);
  const match = host.osMatches[0];
  assert.ok(match);
  assert.equal(match.name, 'Linux 4.15 - 5.6');
  assert.equal(match.accuracy, 100);
  assert.equal(match.line, 67238);
  assert.deepEqual(
    match.classes.map((c) => [c.vendor, c.osFamily, c.osGen, c.type, c.accuracy, c.cpe]),
    [
      ['Linux', 'Linux', '4.X', 'general purpose', 100, ['cpe:/o:linux:linux_kernel:4']],
      ['Linux', 'Linux', '5.X', 'general purpose', 100, ['cpe:/o:linux:linux_kernel:5']],
    ],
  );
  assert.equal(host.osFingerprint, undefined);
});

test('extraports, fingerprints and escaped attribute values', () => {
  const xml = [
    '<?xml version="1.0"?>',
    '<nmaprun args="nmap -p &quot;1-1000&quot; &amp;&gt; x">',
    '<host><status state="up" reason="arp-response"/><address addr="203.0.113.9" addrtype="ipv4"/>',
    "<ports><extraports state='closed' count='997'><extrareasons reason='reset' count='997'/></extraports>",
    '<extraports state="filtered" count="2"/>',
    '<port protocol="udp" portid="53"><state state="open|filtered" reason="no-response" reason_ttl="0"/></port></ports>',
    '<os><osfingerprint fingerprint="OS:SCAN(V=7.93%E=4)&#xa;OS:T1(R=Y%DF=Y%T=40%W=FAF0&gt;)"/></os>',
    '</host><runstats><hosts up="1" down="3" total="4"/></runstats></nmaprun>',
  ].join('\n');
  const run = parseNmapXml(xml);
  assert.equal(run.args, 'nmap -p "1-1000" &> x');
  assert.equal(run.hostsDown, 3);
  const host = run.hosts[0];
  assert.ok(host);
  assert.deepEqual(host.extraPorts, { closed: 997, filtered: 2 });
  assert.deepEqual(host.ports, [{ protocol: 'udp', port: 53, state: 'open|filtered', reason: 'no-response', reasonTtl: 0 }]);
  assert.equal(host.osFingerprint, 'OS:SCAN(V=7.93%E=4)\nOS:T1(R=Y%DF=Y%T=40%W=FAF0>)');
  assert.equal(host.mac, undefined);
  assert.deepEqual(host.osMatches, []);
});

test('xml-lite: text, CDATA, comments and > inside quoted attributes', () => {
  const root = parseXml('<!-- c --><a x="1>2" y=\'q\'>t&lt;1<![CDATA[<raw>]]><b/><!-- d --><c>&#65;</c></a>');
  assert.equal(root.name, 'a');
  assert.deepEqual(root.attrs, { x: '1>2', y: 'q' });
  assert.equal(root.text, 't<1<raw>');
  assert.deepEqual(root.children.map((c) => c.name), ['b', 'c']);
  assert.equal(root.children[1]?.text, 'A');
});

test('xml-lite and the nmap reader reject broken documents', () => {
  for (const bad of ['', '<a>', '<a></b>', '<a/><b/>', 'text<a/>', '<a x=1/>', '<a><!-- open</a>']) {
    assert.throws(() => parseXml(bad), XmlParseError, JSON.stringify(bad));
  }
  assert.throws(() => parseNmapXml('<other/>'), /expected <nmaprun>/);
  // nmap killed mid-scan leaves an unclosed document.
  assert.throws(() => parseNmapXml(REPORT.slice(0, REPORT.indexOf('</host>'))), XmlParseError);
});
