/**
 * The HTTP emulator against real clients, one daemon start: curl (HTTP and HTTPS) gets the
 * configured page with the configured headers in order and the product's own 404; openssl
 * s_client sees the host's generated certificate; nmap -sV names all five products; a Basic-auth
 * attempt is a service.login event; garbage, a 1 MB header, 2,000 pipelined requests and a
 * slowloris get the product's answers within its bounds, and the daemon stays up and small.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startDaemon } from '../helpers/daemon';
import { needsRoot, withLab } from '../helpers/lab';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';

const HOST = '198.51.100.20';
const HOSTILE_CLIENT_JS = resolve(__dirname, 'http-hostile-client.js');

const CONFIG = `
templates:
  web:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - proto: tcp
        port: 80
        action: open
        service:
          emulate: http
          product: nginx
          version: "1.18.0"
          headers: { X-Frame-Options: SAMEORIGIN }
          pages:
            "/": { body: "<html><body><h1>Staff intranet</h1></body></html>\\n", headers: { Cache-Control: no-cache, X-Zeta: "1", X-Alpha: "2" } }
            "/admin/": "admin console\\n"
          auth: [{ path: /admin, realm: "Admin area" }]
      - proto: tcp
        port: 443
        action: open
        service:
          emulate: http
          product: Apache httpd
          version: "2.4.57"
          tls: true
          hostname: intranet.example.org
          pages: { "/": "<html><body>secure intranet</body></html>\\n" }
      - proto: tcp
        port: 8080
        action: open
        service: { emulate: http, product: lighttpd, version: "1.4.69", limits: { headerTimeoutMs: 2000 } }
      - { proto: tcp, port: 8081, action: open, service: { emulate: http, product: lighttpd, version: "1.4.69" } }
      - { proto: tcp, port: 8082, action: open, service: { emulate: http, product: "Microsoft IIS httpd", version: "10.0" } }
      - { proto: tcp, port: 8083, action: open, service: { emulate: http, product: "Boa HTTPd", version: "0.94.14rc21" } }
hosts:
  - { address: ${HOST}, template: web }
service_seed: e2e-http
log: { level: info }
`;

/** curl -v's received header lines (`< Name: value`), in order. */
function receivedHeaders(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('< ')).map((l) => l.slice(2).replace(/\r$/, '')).filter((l) => l !== '');
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

test('HTTP emulator: curl, openssl s_client, nmap -sV, Basic auth events and hostile clients', { ...needsRoot, timeout: 300_000 }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const d = await startDaemon(lab, CONFIG, { readyTimeoutMs: 90_000 });
    try {
      const curl = (args: string[]): ReturnType<typeof lab.exec> => lab.exec(lab.scannerNs, ['curl', '-sv', '--max-time', '20', ...args], { timeoutMs: 30_000 });

      // The configured page, its headers after nginx's own, in order.
      const page = await curl([`http://${HOST}/`]);
      assert.equal(page.code, 0, page.stderr);
      assert.equal(page.stdout, '<html><body><h1>Staff intranet</h1></body></html>\n');
      const names = receivedHeaders(page.stderr).map((h) => h.split(':')[0]);
      t.diagnostic(`http headers: ${receivedHeaders(page.stderr).join(' | ')}`);
      assert.deepEqual(names, ['HTTP/1.1 200 OK', 'Server', 'Date', 'Content-Type', 'Content-Length', 'Connection', 'Cache-Control', 'X-Zeta', 'X-Alpha', 'X-Frame-Options']);
      assert.ok(receivedHeaders(page.stderr).includes('Server: nginx/1.18.0'));

      // A missing page is nginx's own 404.
      const missing = await curl([`http://${HOST}/nope`]);
      assert.match(missing.stderr, /< HTTP\/1\.1 404 Not Found/);
      assert.equal(missing.stdout, '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n');

      // HTTPS: Apache's page and header order inside TLS.
      const secure = await curl(['-k', `https://${HOST}/`]);
      assert.equal(secure.code, 0, secure.stderr);
      assert.equal(secure.stdout, '<html><body>secure intranet</body></html>\n');
      assert.deepEqual(receivedHeaders(secure.stderr).map((h) => h.split(':')[0]).slice(0, 3), ['HTTP/1.1 200 OK', 'Date', 'Server']);
      assert.ok(receivedHeaders(secure.stderr).includes('Server: Apache/2.4.57 (Debian)'));
      const secure404 = await curl(['-k', `https://${HOST}/x`]);
      assert.match(secure404.stdout, /<address>Apache\/2\.4\.57 \(Debian\) Server at intranet\.example\.org Port 443<\/address>/);

      // Cleartext HTTP on the TLS port: mod_ssl's 400.
      const plain = await curl([`http://${HOST}:443/`]);
      assert.match(plain.stderr, /< HTTP\/1\.1 400 Bad Request/);
      assert.match(plain.stdout, /You're speaking plain HTTP to an SSL-enabled server port/);

      // The host's certificate: Debian snakeoil style for Apache, SAN with name and address.
      const cert = await lab.exec(lab.scannerNs, ['sh', '-c', `openssl s_client -connect ${HOST}:443 -showcerts </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -ext subjectAltName -dates`], { timeoutMs: 30_000 });
      t.diagnostic(`certificate: ${cert.stdout.replace(/\n/g, ' | ')}`);
      assert.match(cert.stdout, /^subject=CN = intranet\.example\.org$/m);
      assert.match(cert.stdout, /^issuer=CN = intranet\.example\.org$/m);
      assert.match(cert.stdout, /DNS:intranet\.example\.org, IP Address:198\.51\.100\.20/);

      // Basic auth: the credential tried is a service.login event.
      const auth = await curl(['-u', 'admin:hunter2', `http://${HOST}/admin/`]);
      assert.match(auth.stderr, /< HTTP\/1\.1 401 Unauthorized/);
      assert.match(auth.stderr, /< WWW-Authenticate: Basic realm="Admin area"/);
      const login = await d.waitForEvent((e) => e.kind === 'service.login' && e['user'] === 'admin', 10_000);
      assert.equal(login['password'], 'hunter2');
      assert.equal(login['authMethod'], 'basic');
      assert.equal(login['result'], 'refused');
      assert.equal(login['dstPort'], 80);
      const request = d.eventsOfKind('service.request').find((e) => e['path'] === '/' && e['dstPort'] === 80);
      assert.ok(request, 'every request is a service.request event');
      assert.equal(request['status'], 200);
      assert.match(String(request['userAgent']), /^curl\//);
      assert.ok(Array.isArray(request['headers']) && (request['headers'] as string[])[0] === `Host: ${HOST}`);

      // nmap -sV names every product (HTTPS through its TLS tunnel).
      const run = await runNmap(lab, ['-n', '-Pn', '-sS', '-sV', '-p', '80,443,8081,8082,8083', HOST], { flushNeighbours: true, timeoutMs: 240_000 });
      const host = hostByAddress(run, HOST);
      const p80 = host ? portOf(host, 'tcp', 80)?.service : undefined;
      const p443 = host ? portOf(host, 'tcp', 443)?.service : undefined;
      t.diagnostic(`nmap: 80 ${p80?.name} "${p80?.product}" ${p80?.version}; 443 ${p443?.tunnel}/${p443?.name} "${p443?.product}" ${p443?.version}`);
      assert.equal(p80?.product, 'nginx');
      assert.equal(p80?.version, '1.18.0');
      assert.equal(p443?.product, 'Apache httpd');
      assert.equal(p443?.version, '2.4.57');
      assert.equal(p443?.tunnel, 'ssl');
      for (const [port, product, version] of [[8081, 'lighttpd', '1.4.69'], [8082, 'Microsoft IIS httpd', '10.0'], [8083, 'Boa HTTPd', '0.94.14rc21']] as const) {
        const svc = host ? portOf(host, 'tcp', port)?.service : undefined;
        t.diagnostic(`nmap: ${port} ${svc?.name} "${svc?.product}" ${svc?.version}`);
        assert.equal(svc?.product, product, `tcp/${port}`);
        assert.equal(svc?.version, version, `tcp/${port}`);
      }

      // Hostile clients.
      const rssBefore = rssKb(d.pid);
      const hostile = await lab.exec(lab.scannerNs, [process.execPath, HOSTILE_CLIENT_JS, HOST, '80', '8080', '443'], { timeoutMs: 150_000 });
      assert.equal(hostile.code, 0, `${hostile.stdout}\n${hostile.stderr}`);
      const report = JSON.parse(hostile.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      t.diagnostic(`hostile: ${JSON.stringify(report)}; RSS ${rssBefore} kB before, ${rssKb(d.pid)} kB after`);
      assert.deepEqual(report['garbageFirstLines'], ['HTTP/1.1 400 Bad Request']);
      assert.equal(report['garbageClosed'], 20);
      const big = report['bigHeader'] as { firstLine: string; closedMs: number };
      assert.equal(big.firstLine, 'HTTP/1.1 400 Bad Request', 'nginx: 400 Request Header Or Cookie Too Large');
      const piped = report['pipelined'] as { responses: number; firstLine: string };
      assert.equal(piped.responses, 1000, 'nginx answers keepalive_requests (1000) requests on one connection, then closes');
      const tlsPiped = report['tlsPipelined'] as { responses: number };
      assert.equal(tlsPiped.responses, 100, 'inside TLS too: Apache answers MaxKeepAliveRequests (100), then closes');
      const slow = report['slowloris'] as { closedMs: number; bytes: number };
      assert.ok(slow.closedMs >= 1500 && slow.closedMs < 8000, `slowloris closed after ${slow.closedMs} ms (header timeout 2000 ms)`);
      assert.equal(slow.bytes, 0, 'lighttpd closes a slow head without an answer');
      assert.ok(rssKb(d.pid) - rssBefore < 80 * 1024, 'memory stays bounded');
      // Still serving afterwards.
      const after = await curl([`http://${HOST}/`]);
      assert.equal(after.code, 0);
      assert.equal(d.eventsOfKind('daemon.error').length, 0, JSON.stringify(d.eventsOfKind('daemon.error')));
      assert.ok(d.eventsOfKind('service.session').some((e) => String(e['transcript']).includes('Staff intranet')), 'transcripts at close');
    } finally {
      const exit = await d.stop();
      assert.equal(exit.signal, null, 'the daemon was up until stopped');
    }
  });
});
