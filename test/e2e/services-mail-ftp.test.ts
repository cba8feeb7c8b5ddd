/**
 * The FTP, SMTP, POP3 and IMAP emulators and the DNS and SNMP responders against real clients,
 * one daemon start: curl logs in to FTP and lists through PASV (and FTPS with PROT P); swaks
 * delivers a message that becomes a service.message event and is relayed nowhere (tcpdump sees
 * no connection from the decoy); openssl s_client -starttls smtp shows the host's certificate;
 * curl's POP3 and IMAP logins are service.login events; dig and snmpget get answers; nmap -sV
 * names each product.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from '../helpers/daemon';
import { needsRoot, withLab } from '../helpers/lab';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';

const HOST = '198.51.100.30';

const CONFIG = `
templates:
  mail:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 21, action: open, service: { emulate: ftp, product: vsftpd, version: "3.0.3", auth: { accept: ["alice:wonder1and"] }, files: { "notes.txt": "quarterly numbers\\n" }, fail_delay_ms: 100 } }
      - { proto: tcp, port: 25, action: open, service: { emulate: smtp, product: "Postfix smtpd", hostname: mail.example.org } }
      - { proto: tcp, port: 110, action: open, service: { emulate: pop3, product: "Dovecot pop3d", fail_delay_ms: 100 } }
      - { proto: tcp, port: 143, action: open, service: { emulate: imap, product: "Dovecot imapd", auth: { accept: ["bob:hunter2"] } } }
      - { proto: tcp, port: 990, action: open, service: { emulate: ftp, product: ProFTPD, version: "1.3.5", tls: true, auth: { accept: ["alice:wonder1and"] } } }
      - { proto: tcp, port: 465, action: open, service: { emulate: smtp, product: "Exim smtpd", version: "4.96", tls: true, hostname: smtps.example.org } }
      - { proto: tcp, port: 993, action: open, service: { emulate: imap, product: "Courier Imapd", tls: true } }
      - { proto: udp, port: 53, action: open, service: { emulate: dns, product: "ISC BIND", version: "9.18.19", records: { "www.example.org": "192.0.2.80" } } }
      - { proto: udp, port: 161, action: open, service: { emulate: snmp, product: "net-snmp", community: public } }
hosts:
  - { address: ${HOST}, template: mail }
service_seed: e2e-mail
log: { level: info }
`;

test('mail/FTP emulators, DNS and SNMP: curl, swaks, openssl, dig, snmpget, nmap -sV', { ...needsRoot, timeout: 240_000 }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const d = await startDaemon(lab, CONFIG, { readyTimeoutMs: 90_000 });
    const run = (argv: string[], timeoutMs = 30_000): ReturnType<typeof lab.exec> => lab.exec(lab.scannerNs, argv, { timeoutMs });
    // Every SYN the decoy sends shows up here: its SYN/ACKs (the control: the capture works) and
    // any connection it would open itself (a relay attempt, an active FTP data connection).
    const dump = lab.spawn(lab.scannerNs, ['tcpdump', '-l', '-n', '-i', 'any', `src host ${HOST} and tcp[tcpflags] & tcp-syn != 0`]);
    let syns = '';
    dump.stdout?.on('data', (b: Buffer) => { syns += b.toString(); });
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('tcpdump did not start')), 20_000);
      dump.stderr?.on('data', (b: Buffer) => { if (b.toString().includes('listening on')) { clearTimeout(timer); ok(); } });
    });
    const opened = (): string[] => syns.split('\n').filter((l) => /Flags \[S\]/.test(l));
    try {
      // FTP: login and listing through PASV.
      const list = await run(['curl', '-sS', '--max-time', '20', `ftp://alice:wonder1and@${HOST}/`]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /notes\.txt/);
      assert.match(list.stdout, /^drwxr-xr-x    2 0        0            4096 .* pub\r?$/m);
      const file = await run(['curl', '-sS', '--max-time', '20', `ftp://alice:wonder1and@${HOST}/notes.txt`]);
      assert.equal(file.stdout, 'quarterly numbers\n', file.stderr);
      // FTPS (AUTH TLS, PROT P: the data connection inside TLS too).
      const ftps = await run(['curl', '-sS', '-k', '--ssl-reqd', '--max-time', '30', `ftp://alice:wonder1and@${HOST}/`], 40_000);
      assert.equal(ftps.code, 0, ftps.stderr);
      assert.match(ftps.stdout, /notes\.txt/);
      // Active mode: PORT towards a third party is the bounce attack (refused); towards the client
      // itself decoyd still opens nothing, so the transfer fails as vsftpd's does when it cannot connect.
      const bounce = await run(['sh', '-c', `printf 'USER alice\\r\\nPASS wonder1and\\r\\nPORT 192,0,2,1,0,25\\r\\nEPRT |1|203.0.113.77|2525|\\r\\nQUIT\\r\\n' | socat -t 5 - TCP:${HOST}:21`]);
      assert.match(bounce.stdout, /230 Login successful\.\r\n500 Illegal PORT command\.\r\n500 Illegal PORT command\.\r\n221 Goodbye\./, bounce.stdout);
      const active = await run(['curl', '-sS', '-v', '-P', '-', '--max-time', '20', `ftp://alice:wonder1and@${HOST}/`]);
      assert.notEqual(active.code, 0);
      assert.match(active.stderr, /200 PORT command successful|200 EPRT command successful/, active.stderr);
      assert.match(active.stderr, /425 Failed to establish connection\./, active.stderr);
      // Implicit FTPS (990, ProFTPD's words).
      const implicit = await run(['curl', '-sS', '-k', '-v', '--max-time', '30', `ftps://alice:wonder1and@${HOST}:990/`], 40_000);
      assert.equal(implicit.code, 0, implicit.stderr);
      assert.match(implicit.stderr, /220 ProFTPD 1\.3\.5 Server/);
      assert.match(implicit.stdout, /-rw-r--r--   1 ftp      ftp .* README/);
      const bad = await run(['curl', '-sS', '--max-time', '20', `ftp://mallory:guess@${HOST}/`]);
      assert.notEqual(bad.code, 0);
      await d.waitForEvent((e) => e.kind === 'service.login' && e['service'] === 'ftp' && e['user'] === 'mallory' && e['password'] === 'guess' && e['result'] === 'refused', 10_000);
      await d.waitForEvent((e) => e.kind === 'service.login' && e['user'] === 'alice' && e['result'] === 'accepted', 10_000);

      // SMTP: a message accepted and logged, AUTH captured, never relayed.
      const swaks = await run(['swaks', '--server', HOST, '--to', 'ceo@victim.example', '--from', 'spam@203.0.113.9', '--header', 'Subject: invoice overdue',
        '--body', 'please pay', '--auth', 'LOGIN', '--auth-user', 'postmaster', '--auth-password', 'letmein', '--timeout', '20'], 40_000);
      assert.match(swaks.stdout, /535 5\.7\.8 Error: authentication failed/, swaks.stdout);
      const swaks2 = await run(['swaks', '--server', HOST, '--to', 'ceo@victim.example', '--from', 'spam@203.0.113.9', '--header', 'Subject: invoice overdue', '--body', 'please pay', '--timeout', '20'], 40_000);
      assert.equal(swaks2.code, 0, swaks2.stdout + swaks2.stderr);
      assert.match(swaks2.stdout, /250 2\.0\.0 Ok: queued as [0-9A-F]{10}/);
      const msg = await d.waitForEvent((e) => e.kind === 'service.message', 10_000);
      assert.equal(msg['mailFrom'], '<spam@203.0.113.9>');
      assert.deepEqual(msg['rcptTo'], ['<ceo@victim.example>']);
      assert.equal(msg['subject'], 'invoice overdue');
      assert.match(String(msg['body']), /please pay/);
      await d.waitForEvent((e) => e.kind === 'service.login' && e['authMethod'] === 'AUTH LOGIN' && e['user'] === 'postmaster' && e['password'] === 'letmein', 10_000);
      // Garbage and an overlong line get Postfix's own answers; the session goes on.
      const junk = await run(['sh', '-c', `(printf 'EHLO x\\r\\n\\001\\002garbage\\r\\n'; head -c 5000 /dev/zero | tr '\\0' A; printf '\\r\\nNOOP\\r\\nQUIT\\r\\n') | socat -t 5 - TCP:${HOST}:25`]);
      assert.match(junk.stdout, /502 5\.5\.2 Error: command not recognized\r\n500 5\.5\.0 Error: line too long\r\n250 2\.0\.0 Ok\r\n221 2\.0\.0 Bye/, junk.stdout);
      // STARTTLS: the host's own certificate.
      const tls = await run(['sh', '-c', `echo QUIT | openssl s_client -starttls smtp -connect ${HOST}:25 -servername mail.example.org 2>&1`], 40_000);
      assert.match(tls.stdout, /subject=CN ?= ?mail\.example\.org/, tls.stdout);

      // SMTPS (implicit TLS on 465).
      // (swaks's TLS needs Net::SSLeay, not installed here: curl speaks SMTPS as well.)
      const smtps = await run(['sh', '-c', `printf 'Subject: over tls\\r\\n\\r\\nhello\\r\\n' | curl -sS -v -k --max-time 20 smtps://${HOST}:465 --mail-from c@d.example --mail-rcpt a@b.example -T -`], 40_000);
      assert.equal(smtps.code, 0, smtps.stderr);
      assert.match(smtps.stderr, /250 OK id=\w{6}-\w{6}-\w{2}/);
      await d.waitForEvent((e) => e.kind === 'service.message' && e['service'] === 'smtps' && e['dstPort'] === 465 && e['subject'] === 'over tls', 10_000);

      // POP3 and IMAP logins.
      const pop = await run(['curl', '-sS', '--max-time', '20', `pop3://carol:pop-secret@${HOST}/`]);
      assert.notEqual(pop.code, 0);
      await d.waitForEvent((e) => e.kind === 'service.login' && e['service'] === 'pop3' && e['user'] === 'carol' && e['password'] === 'pop-secret', 10_000);
      const imap = await run(['curl', '-sS', '--max-time', '20', `imap://bob:hunter2@${HOST}/`]);
      assert.equal(imap.code, 0, imap.stderr);
      assert.match(imap.stdout, /INBOX/);
      const imaps = await run(['curl', '-sS', '-k', '--max-time', '20', `imaps://dave:pw@${HOST}/`]);
      assert.notEqual(imaps.code, 0);
      await d.waitForEvent((e) => e.kind === 'service.login' && e['service'] === 'imaps' && e['user'] === 'dave' && e['result'] === 'refused', 10_000);
      await d.waitForEvent((e) => e.kind === 'service.login' && e['service'] === 'imap' && e['user'] === 'bob' && e['result'] === 'accepted', 10_000);

      // DNS and SNMP.
      const dig = await run(['dig', `@${HOST}`, '+time=3', '+tries=2', 'www.example.org', 'A']);
      assert.match(dig.stdout, /status: NOERROR/);
      assert.match(dig.stdout, /www\.example\.org\.\s+3600\s+IN\s+A\s+192\.0\.2\.80/);
      const snmp = await run(['snmpget', '-v2c', '-c', 'public', '-t', '3', '-r', '1', HOST, '1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.5.0']);
      assert.equal(snmp.code, 0, snmp.stderr);
      assert.match(snmp.stdout, /STRING: "?Linux \S+ 4\.19\.0-26-amd64 #1 SMP Debian .* x86_64/);
      const wrong = await run(['snmpget', '-v2c', '-c', 'private', '-t', '1', '-r', '0', HOST, '1.3.6.1.2.1.1.1.0']);
      assert.notEqual(wrong.code, 0, 'a wrong community gets no answer');
      await d.waitForEvent((e) => e.kind === 'service.login' && e['service'] === 'snmp' && e['password'] === 'private' && e['result'] === 'refused', 10_000);

      // nmap -sV names each product.
      const scan = await runNmap(lab, ['-n', '-Pn', '-sS', '-sV', '-p', '21,25,110,143,465,990,993', HOST], { flushNeighbours: true, timeoutMs: 120_000 });
      const host = hostByAddress(scan, HOST);
      const product = (port: number): string | undefined => (host ? portOf(host, 'tcp', port)?.service?.product : undefined);
      assert.equal(product(21), 'vsftpd');
      assert.equal(host ? portOf(host, 'tcp', 21)?.service?.version : undefined, '3.0.3');
      assert.equal(product(25), 'Postfix smtpd');
      assert.equal(product(110), 'Dovecot pop3d');
      assert.equal(product(143), 'Dovecot imapd');
      assert.equal(product(465), 'Exim smtpd');
      assert.equal(product(990), 'ProFTPD');
      assert.equal(product(993), 'Courier Imapd');
      assert.equal(host ? portOf(host, 'tcp', 993)?.service?.tunnel : undefined, 'ssl');

      assert.match(syns, /Flags \[S\.\]/, 'the capture sees the decoy\'s SYN/ACKs');
      assert.deepEqual(opened(), [], 'the decoy opened no connection of its own');
      assert.equal(d.eventsOfKind('daemon.error').length, 0, JSON.stringify(d.eventsOfKind('daemon.error')));
    } finally {
      dump.kill('SIGTERM');
      await d.stop();
    }
  });
});
