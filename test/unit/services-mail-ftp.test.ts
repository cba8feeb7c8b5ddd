import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceProbes } from '../../daemon/src/services/probes/catalog';
import { lineNmapNames } from '../../daemon/src/services/mail/check';
import { lineServiceDefaults, type LineProtocol } from '../../daemon/src/config/mail-ftp-options';

const file = serviceProbes('/usr/share/nmap/nmap-service-probes');
const cases: Array<[LineProtocol, number, string, string | undefined]> = [
  ['ftp', 21, 'vsftpd', '3.0.3'], ['ftp', 21, 'ProFTPD', '1.3.5'], ['ftp', 21, 'Pure-FTPd', undefined], ['ftp', 21, 'Microsoft ftpd', undefined],
  ['smtp', 25, 'Postfix smtpd', undefined], ['smtp', 25, 'Exim smtpd', '4.96'], ['smtp', 25, 'Sendmail', '8.15.2/8.15.2'], ['smtp', 25, 'Microsoft ESMTP', '10.0.17763.1697'],
  ['pop3', 110, 'Dovecot pop3d', undefined], ['pop3', 110, 'Microsoft Exchange pop3d', '5.5.2653.23'],
  ['imap', 143, 'Dovecot imapd', undefined], ['imap', 143, 'Courier Imapd', undefined], ['imap', 143, 'Microsoft Exchange 2007-2010 imapd', undefined],
];

for (const [protocol, port, product, version] of cases) {
  test(`nmap's NULL probe names the ${protocol} greeting of ${product}`, () => {
    const got = lineNmapNames(file, port, { kind: 'line', protocol, identity: { product, tls: false, ...(version ? { version } : {}) }, options: lineServiceDefaults(protocol) });
    assert.equal(got.product, product, got.greeting);
    if (version !== undefined) assert.equal(got.version, version, got.greeting);
  });
}

// ---- pure parsers and state machines ----
import { LineReader, decodeSaslPlain } from '../../daemon/src/services/mail/line-reader';
import { FtpMachine, parseEprtArg, parsePortArg } from '../../daemon/src/services/mail/ftp';
import { SmtpMachine, smtpPath, subjectOf } from '../../daemon/src/services/mail/smtp';
import { ImapMachine, imapArgs } from '../../daemon/src/services/mail/imap';
import { Pop3Machine } from '../../daemon/src/services/mail/pop3';
import type { HostFacts, MailMessage, ProtocolHooks } from '../../daemon/src/services/mail/protocol';
import { dnsAnswer, parseDnsQuery } from '../../daemon/src/services/udp/dns';
import { SYSTEM, encodeOid, parseSnmpRequest, snmpResponse, systemGroupFor, tlv, berInt, readTlv, decodeOid } from '../../daemon/src/services/udp/snmp';

const FACTS: HostFacts = { hostname: 'mail-03', address: '192.0.2.10', product: 'x', distro: 'debian12', windows: false, seed: 7, clientAddress: '192.0.2.99' };

function hooks(accept: (u: string, p: string) => boolean = () => false): ProtocolHooks & { logins: string[]; messages: MailMessage[] } {
  const logins: string[] = [];
  const messages: MailMessage[] = [];
  return { logins, messages, login: (m, u, p) => { logins.push(`${m} ${u}:${p}`); return accept(u, p); }, message: (m) => { messages.push(m); }, now: () => new Date(Date.UTC(2026, 11, 2, 18, 0, 0)), openPassive: () => 45000 };
}
const line = (text: string) => ({ text, tooLong: false, length: text.length });

test('LineReader: CRLF and LF lines, a partial line waits, an overlong line is cut and flagged', () => {
  const r = new LineReader(8);
  assert.deepEqual(r.push(Buffer.from('USER a\r\nPA')).map((l) => l.text), ['USER a']);
  assert.equal(r.pending, 2);
  const [l] = r.push(Buffer.from('SS 0123456789\r\nNOOP\n'));
  assert.equal(l?.tooLong, true);
  assert.equal(l?.text, 'PASS 012');
  assert.equal(l?.length, 16);
  assert.equal(r.push(Buffer.from('x\n'))[0]?.tooLong, false);
});

test('SASL PLAIN and PORT/EPRT arguments', () => {
  assert.deepEqual(decodeSaslPlain(Buffer.from('\u0000root\u0000toor').toString('base64')), { user: 'root', password: 'toor' });
  assert.equal(decodeSaslPlain('not base64!'), undefined);
  assert.deepEqual(parsePortArg('192,0,2,99,156,64'), { address: '192.0.2.99', port: 40000 });
  assert.equal(parsePortArg('300,0,2,99,1,1'), undefined);
  assert.deepEqual(parseEprtArg('|1|203.0.113.5|2525|'), { address: '203.0.113.5', port: 2525 });
  assert.equal(parseEprtArg('|2|::1|2525|'), undefined);
});

test('FTP (vsftpd): login, PASV, LIST transfer, bounce refused, garbage and failures', () => {
  const h = hooks((u, p) => u === 'alice' && p === 'pw');
  const m = new FtpMachine('vsftpd', { ...FACTS, version: '3.0.3' }, lineServiceDefaults('ftp'), h, false);
  assert.equal(m.greeting(), '220 (vsFTPd 3.0.3)\r\n');
  assert.equal(m.line(line('LIST')).reply, '530 Please login with USER and PASS.\r\n');
  assert.equal(m.line(line('USER alice')).reply, '331 Please specify the password.\r\n');
  const bad = m.line(line('PASS nope'));
  assert.equal(bad.reply, '530 Login incorrect.\r\n');
  assert.equal(bad.delayed, true);
  m.line(line('USER alice'));
  assert.equal(m.line(line('PASS pw')).reply, '230 Login successful.\r\n');
  assert.deepEqual(h.logins, ['USER/PASS alice:nope', 'USER/PASS alice:pw']);
  assert.equal(m.line(line('LIST')).reply, '425 Use PORT or PASV first.\r\n');
  assert.equal(m.line(line('PASV')).reply, '227 Entering Passive Mode (192,0,2,10,175,200).\r\n');
  const list = m.line(line('LIST'));
  assert.equal(list.reply, '150 Here comes the directory listing.\r\n');
  assert.match(list.transfer?.data.toString() ?? '', /^drwxr-xr-x    2 0        0            4096 \w{3} .. +\S+ pub\r\n/);
  assert.equal(list.transfer?.done, '226 Directory send OK.\r\n');
  assert.equal(m.line(line('PORT 203,0,113,5,0,25')).reply, '500 Illegal PORT command.\r\n', 'a third party: the bounce attack');
  assert.equal(m.line(line('PORT 192,0,2,99,0,25')).reply, '500 Illegal PORT command.\r\n', 'a privileged port of the client');
  assert.equal(m.line(line('PORT 192,0,2,99,156,64')).reply, '200 PORT command successful. Consider using PASV.\r\n');
  assert.deepEqual(m.line(line('LIST')).transfer?.active, { address: '192.0.2.99', port: 40000 });
  assert.equal(m.line(line('XYZZY')).reply, '500 Unknown command.\r\n');
  assert.equal(m.line({ text: 'A'.repeat(64), tooLong: true, length: 9999 }).reply, '500 Unknown command.\r\n');
  assert.equal(m.line(line('QUIT')).close, true);
  const f = new FtpMachine('proftpd', { ...FACTS, version: '1.3.5' }, { ...lineServiceDefaults('ftp'), maxAuthFailures: 2 }, hooks(), false);
  f.line(line('USER x')); assert.notEqual(f.line(line('PASS 1')).close, true);
  f.line(line('USER x')); assert.equal(f.line(line('PASS 2')).close, true, 'closed after max_auth_failures');
});

test('SMTP (Postfix): EHLO, AUTH PLAIN/LOGIN captured, MAIL/RCPT/DATA with dot-unstuffing, nothing relayed', () => {
  const h = hooks();
  const m = new SmtpMachine('postfix', FACTS, lineServiceDefaults('smtp'), h, false);
  assert.equal(m.greeting(), '220 mail-03 ESMTP Postfix (Debian/GNU)\r\n');
  assert.equal(m.line(line('MAIL FROM:<a@b>')).reply, '503 5.5.1 Error: send HELO/EHLO first\r\n');
  const ehlo = m.line(line('EHLO client.example')).reply;
  assert.match(ehlo, /^250-mail-03\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n.*250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n.*250 CHUNKING\r\n$/s);
  assert.equal(m.line(line(`AUTH PLAIN ${Buffer.from('\u0000admin\u0000admin123').toString('base64')}`)).reply, '535 5.7.8 Error: authentication failed: authentication failure\r\n');
  assert.equal(m.line(line('AUTH LOGIN')).reply, '334 VXNlcm5hbWU6\r\n');
  assert.equal(m.line(line(Buffer.from('root').toString('base64'))).reply, '334 UGFzc3dvcmQ6\r\n');
  m.line(line(Buffer.from('toor').toString('base64')));
  assert.deepEqual(h.logins, ['AUTH PLAIN admin:admin123', 'AUTH LOGIN root:toor']);
  assert.equal(m.line(line('RCPT TO:<x@y>')).reply, '503 5.5.1 Error: need MAIL command\r\n');
  assert.equal(m.line(line('MAIL FROM:<spam@example.net> SIZE=100')).reply, '250 2.1.0 Ok\r\n');
  assert.equal(m.line(line('RCPT TO:<ceo@victim.example>')).reply, '250 2.1.5 Ok\r\n');
  assert.equal(m.line(line('DATA')).reply, '354 End data with <CR><LF>.<CR><LF>\r\n');
  assert.equal(m.inData, true);
  for (const l of ['Subject: pay', ' now', '', '..leading dot', 'body']) assert.equal(m.line(line(l)).reply, '');
  assert.match(m.line(line('.')).reply, /^250 2\.0\.0 Ok: queued as [0-9A-F]{10}\r\n$/);
  assert.equal(h.messages.length, 1);
  assert.equal(h.messages[0]?.subject, 'pay now');
  assert.equal(h.messages[0]?.mailFrom, '<spam@example.net>');
  assert.deepEqual(h.messages[0]?.rcptTo, ['<ceo@victim.example>']);
  assert.match(h.messages[0]?.body.toString() ?? '', /\r\n\.leading dot\r\nbody\r\n$/);
  assert.equal(m.line(line('STARTTLS')).starttls, true);
  assert.equal(smtpPath('FROM: bare@x', 'FROM'), '<bare@x>');
  assert.equal(subjectOf(Buffer.from('From: a\r\n\r\nSubject: not a header\r\n')), undefined);
});

test('SMTP: hard error limit closes a client that only errs', () => {
  const m = new SmtpMachine('exim', FACTS, lineServiceDefaults('smtp'), hooks(), false);
  let last = m.line(line('garbage'));
  for (let i = 0; i < 30 && !last.close; i++) last = m.line(line('garbage'));
  assert.equal(last.close, true);
});

test('POP3 (Dovecot): CAPA, USER/PASS and AUTH PLAIN captured, empty mailbox when accepted', () => {
  const h = hooks((u) => u === 'ok');
  const m = new Pop3Machine('dovecot', FACTS, lineServiceDefaults('pop3'), h, false);
  assert.equal(m.greeting(), '+OK Dovecot ready.\r\n');
  assert.match(m.line(line('CAPA')).reply, /\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n\.\r\n$/);
  assert.equal(m.line(line('STAT')).reply, '-ERR Unknown command.\r\n');
  m.line(line('USER carol'));
  assert.equal(m.line(line('PASS s3cret')).reply, '-ERR [AUTH] Authentication failed.\r\n');
  assert.equal(m.line(line('AUTH PLAIN')).reply, '+ \r\n');
  assert.equal(m.line(line(Buffer.from('\u0000ok\u0000pw').toString('base64'))).reply, '+OK Logged in.\r\n');
  assert.equal(m.line(line('STAT')).reply, '+OK 0 0\r\n');
  assert.equal(m.line(line('LIST')).reply, '+OK 0 messages:\r\n.\r\n');
  assert.deepEqual(h.logins, ['USER/PASS carol:s3cret', 'AUTH PLAIN ok:pw']);
});

test('IMAP (Dovecot): arguments with quotes and literals, LOGIN and AUTHENTICATE captured, empty INBOX', () => {
  assert.deepEqual(imapArgs('LOGIN "us er" "p\\"w"').args, ['LOGIN', 'us er', 'p"w']);
  assert.deepEqual(imapArgs('LOGIN {4}').needMore, { bytes: 4, sync: true });
  const h = hooks((u) => u === 'bob');
  const m = new ImapMachine('dovecot', FACTS, lineServiceDefaults('imap'), h, false);
  assert.match(m.greeting(), /^\* OK \[CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL\+ STARTTLS AUTH=PLAIN AUTH=LOGIN\] Dovecot ready\.\r\n$/);
  assert.equal(m.line(line('garbage')).reply, '* BAD Error in IMAP command received by server.\r\n');
  assert.equal(m.line(line('a1 LOGIN {5}')).reply, '+ OK\r\n');
  assert.equal(m.line(line('alice {3+}')).reply, '');
  assert.equal(m.line(line('pw1')).reply, 'a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n');
  assert.equal(m.line(line(`a2 AUTHENTICATE PLAIN ${Buffer.from('\u0000bob\u0000hunter2').toString('base64')}`)).reply.startsWith('a2 OK [CAPABILITY '), true);
  assert.deepEqual(h.logins, ['LOGIN alice:pw1', 'AUTHENTICATE PLAIN bob:hunter2']);
  assert.match(m.line(line('a3 SELECT INBOX')).reply, /\* 0 EXISTS\r\n.*a3 OK \[READ-WRITE\] Select completed/s);
  assert.match(m.line(line('a4 LOGOUT')).reply, /^\* BYE Logging out\r\na4 OK Logout completed/);
});

function dnsQuery(name: string, type: number, qclass = 1, id = 0x1234): Buffer {
  const labels = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const head = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const tail = Buffer.from([0, type, 0, qclass]);
  return Buffer.concat([head, labels, tail]);
}

test('DNS: A from records (authoritative), NXDOMAIN in the zone, REFUSED elsewhere, version.bind, FORMERR', () => {
  const records = { 'www.example.org': '192.0.2.80' };
  const a = dnsAnswer(dnsQuery('www.example.org', 1), records, '9.18.19', 'ns1');
  assert.equal(a.rcode, 0);
  const r = a.reply as Buffer;
  assert.equal(r.readUInt16BE(0), 0x1234);
  assert.equal(r.readUInt16BE(2) & 0x8400, 0x8400, 'QR and AA');
  assert.equal(r.readUInt16BE(6), 1);
  assert.deepEqual([...r.subarray(r.length - 4)], [192, 0, 2, 80]);
  assert.equal(dnsAnswer(dnsQuery('ftp.example.org', 1), records, 'v', 'h').rcode, 3);
  assert.equal(dnsAnswer(dnsQuery('google.com', 1), records, 'v', 'h').rcode, 5);
  const v = dnsAnswer(dnsQuery('version.bind', 16, 3), records, '9.18.19', 'h').reply as Buffer;
  assert.equal(v.subarray(v.length - 8).toString('latin1'), '\u00079.18.19');
  const trunc = Buffer.from(dnsQuery('www.example.org', 1).subarray(0, 16));
  assert.equal(parseDnsQuery(trunc), 'formerr');
  assert.equal(parseDnsQuery(Buffer.from([1, 2, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0])), undefined, 'a response is never answered');
});

function snmpGet(community: string, pdu: number, oids: number[][], version = 1): Buffer {
  const binds = Buffer.concat(oids.map((o) => tlv(0x30, Buffer.concat([encodeOid(o), Buffer.from([0x05, 0])]))));
  return tlv(0x30, Buffer.concat([berInt(version), tlv(0x04, Buffer.from(community)), tlv(pdu, Buffer.concat([berInt(4242), berInt(0), berInt(0), tlv(0x30, binds)]))]));
}

test('SNMP: v2c GetRequest/GetNext on the system group, noSuchObject, v1 noSuchName, garbage ignored', () => {
  const g = systemGroupFor({ vendor: 'Linux', family: 'Linux', generation: '4.X', deviceType: 'general purpose' }, 99, { community: 'public', maxAnswersPerSecond: 10 });
  assert.match(g.descr, /^Linux \S+ 4\.19\.0-26-amd64 #1 SMP Debian 4\.19\.\d+-1 \(\d{4}-\d\d-\d\d\) x86_64$/);
  const req = parseSnmpRequest(snmpGet('public', 0xa0, [[...SYSTEM, 1, 0], [...SYSTEM, 9, 0]]));
  assert.equal(req?.community, 'public');
  const resp = snmpResponse(req!, g);
  const msg = readTlv(resp, 0)!;
  assert.equal(msg.tag, 0x30);
  assert.ok(resp.includes(Buffer.from(g.descr)));
  assert.ok(resp.includes(Buffer.from([0x80, 0x00])), 'noSuchObject for sysORTable');
  const next = snmpResponse(parseSnmpRequest(snmpGet('public', 0xa1, [[...SYSTEM, 5, 0]]))!, g);
  assert.ok(next.includes(Buffer.concat([encodeOid([...SYSTEM, 6, 0]), Buffer.from([0x04])])), 'GetNext of sysName is sysLocation');
  const end = snmpResponse(parseSnmpRequest(snmpGet('public', 0xa1, [[...SYSTEM, 7, 0]]))!, g);
  assert.ok(end.includes(Buffer.from([0x82, 0x00])), 'endOfMibView after the group');
  const v1 = snmpResponse(parseSnmpRequest(snmpGet('public', 0xa0, [[1, 3, 6, 1, 4, 1, 0]], 0))!, g);
  assert.ok(v1.includes(Buffer.concat([berInt(4242), berInt(2), berInt(1)])), 'v1: noSuchName, index 1');
  assert.equal(parseSnmpRequest(Buffer.from('garbage')), undefined);
  const o = encodeOid([1, 3, 6, 1, 4, 1, 8072, 3, 2, 10]);
  assert.deepEqual(decodeOid(o, readTlv(o, 0)!), [1, 3, 6, 1, 4, 1, 8072, 3, 2, 10]);
  const win = systemGroupFor({ vendor: 'Microsoft', family: 'Windows', generation: '10', deviceType: 'general purpose' }, 99, { community: 'public', maxAnswersPerSecond: 10 });
  assert.match(win.descr, /^Hardware: Intel64 .* Software: Windows Version 6\.3 \(Build 17763 Multiprocessor Free\)$/);
});

import { LineStreamService } from '../../daemon/src/services/mail/mail-service';
import type { StreamContext } from '../../daemon/src/services/service';

function fakeCtx(): StreamContext & { out: string; ended: boolean } {
  const c = {
    out: '', ended: false,
    local: { address: '192.0.2.1', port: 21 }, remote: { address: '192.0.2.2', port: 40000 },
    write(d: Buffer | string) { c.out += typeof d === 'string' ? d : d.toString('latin1'); return true; },
    end() { c.ended = true; }, reset() { c.ended = true; },
  };
  return c;
}

test('line session: max_sessions answers the product\'s busy reply; idle_seconds closes with its timeout reply; max_commands holds', async () => {
  const events: Array<Record<string, unknown>> = [];
  const sink = { wants: () => true, emit: (e: unknown) => { events.push(e as Record<string, unknown>); } };
  const svc = new LineStreamService({ protocol: 'ftp', identity: { product: 'vsftpd', version: '3.0.3', tls: false }, options: { ...lineServiceDefaults('ftp'), starttls: false, maxSessions: 2, idleSeconds: 1, maxCommands: 5 },
    events: sink, deploymentSeed: 1, templateName: 't', port: 21 });
  const a = fakeCtx(); const b = fakeCtx(); const c = fakeCtx();
  const sa = svc.open(a); const sb = svc.open(b); svc.open(c);
  assert.equal(c.out, '421 There are too many connected users, please try later.\r\n');
  assert.equal(c.ended, true);
  sb.onData(Buffer.from('NOOP\r\n'.repeat(6)));
  assert.match(b.out, /500 OOPS: too many commands\r\n$/);
  assert.equal(b.ended, true);
  sb.onClose();
  await new Promise((r) => setTimeout(r, 1300));
  assert.equal(a.out, '220 (vsFTPd 3.0.3)\r\n421 Timeout.\r\n');
  assert.equal(a.ended, true);
  sa.onClose();
  assert.equal(svc.sessions, 0);
  assert.ok(events.some((e) => e['kind'] === 'service.session' && String(e['transcript']).includes('NOOP')));
});

test('SMTP session: a long message in one chunk is message text, not a command flood; IMAP chained literals are bounded', () => {
  const events: Array<Record<string, unknown>> = [];
  const svc = new LineStreamService({ protocol: 'smtp', identity: { product: 'Postfix smtpd', tls: false }, options: { ...lineServiceDefaults('smtp'), starttls: false },
    events: { wants: () => true, emit: (e: unknown) => { events.push(e as Record<string, unknown>); } }, deploymentSeed: 1, templateName: 't', port: 25 });
  const c = fakeCtx();
  const s = svc.open(c);
  s.onData(Buffer.from(`EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: big\r\n\r\n${'line of text\r\n'.repeat(5000)}.\r\nQUIT\r\n`));
  assert.match(c.out, /250 2\.0\.0 Ok: queued as \w+\r\n221 2\.0\.0 Bye\r\n$/);
  const msg = events.find((e) => e['kind'] === 'service.message');
  assert.equal(msg?.['subject'], 'big');
  assert.ok(Number(msg?.['bodyBytes']) > 70_000);
  assert.ok(String(msg?.['body']).length <= 4 * 1024 + 16, 'the excerpt is bounded');
  s.onClose();
  const m = new ImapMachine('dovecot', FACTS, { ...lineServiceDefaults('imap'), maxLineBytes: 64 }, hooks(), false);
  let step = m.line(line('a LOGIN {1+}'));
  for (let i = 0; i < 1000 && step.close !== true; i++) step = m.line(line('x {1+}'));
  assert.equal(step.close, true);
});
