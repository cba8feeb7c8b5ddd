/**
 * The Honeyd-syntax `open emulate KIND …` form gives the same service as the YAML `emulate:` form
 * with no options set, for every emulator; wrong products are errors naming the line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configOf, errorsOf } from './config-test-support';

const FORMS: { honeyd: string; yaml: string }[] = [
  { honeyd: 'tcp port 22 open emulate ssh product "OpenSSH" version "8.9p1 Ubuntu 3ubuntu0.10"', yaml: '{ proto: tcp, port: 22, action: open, service: { emulate: ssh, product: OpenSSH, version: "8.9p1 Ubuntu 3ubuntu0.10" } }' },
  { honeyd: 'tcp port 23 open emulate telnet product "Linux telnetd"', yaml: '{ proto: tcp, port: 23, action: open, service: { emulate: telnet, product: "Linux telnetd" } }' },
  { honeyd: 'tcp port 80 open emulate http product "nginx" version "1.22.1"', yaml: '{ proto: tcp, port: 80, action: open, service: { emulate: http, product: nginx, version: "1.22.1" } }' },
  { honeyd: 'tcp port 443 open emulate http product "Apache httpd" version "2.4.57" info "(Debian)" tls', yaml: '{ proto: tcp, port: 443, action: open, service: { emulate: http, product: "Apache httpd", version: "2.4.57", info: "(Debian)", tls: true } }' },
  { honeyd: 'tcp port 21 open emulate ftp product "vsftpd" version "3.0.3"', yaml: '{ proto: tcp, port: 21, action: open, service: { emulate: ftp, product: vsftpd, version: "3.0.3" } }' },
  { honeyd: 'tcp port 465 open emulate smtp product "Postfix smtpd" tls', yaml: '{ proto: tcp, port: 465, action: open, service: { emulate: smtp, product: "Postfix smtpd", tls: true } }' },
  { honeyd: 'tcp port 110 open emulate pop3 product "Dovecot pop3d"', yaml: '{ proto: tcp, port: 110, action: open, service: { emulate: pop3, product: "Dovecot pop3d" } }' },
  { honeyd: 'tcp port 993 open emulate imap product "Dovecot imapd" tls', yaml: '{ proto: tcp, port: 993, action: open, service: { emulate: imap, product: "Dovecot imapd", tls: true } }' },
  { honeyd: 'udp port 53 open emulate dns product "ISC BIND" version "9.18.28"', yaml: '{ proto: udp, port: 53, action: open, service: { emulate: dns, product: "ISC BIND", version: "9.18.28" } }' },
  { honeyd: 'udp port 161 open emulate snmp product "net-snmp"', yaml: '{ proto: udp, port: 161, action: open, service: { emulate: snmp, product: net-snmp } }' },
];

test('Honeyd `open emulate` and YAML `emulate:` give the same services', () => {
  const honeyd = configOf('x.conf', `create t\nset t personality "Linux 4.15 - 5.6"\n${FORMS.map((f) => `add t ${f.honeyd}`).join('\n')}\nbind 198.51.100.10 t\n`);
  const yaml = configOf('x.yaml', `templates:\n  t:\n    personality: "Linux 4.15 - 5.6"\n    ports:\n${FORMS.map((f) => `      - ${f.yaml}`).join('\n')}\nhosts:\n  - { address: 198.51.100.10, template: t }\n`);
  const fromHoneyd = honeyd.templates.get('t')?.ports.map((p) => p.service) ?? [];
  const fromYaml = yaml.templates.get('t')?.ports.map((p) => p.service) ?? [];
  assert.equal(fromHoneyd.length, FORMS.length);
  FORMS.forEach((f, i) => assert.deepEqual(fromHoneyd[i], fromYaml[i], f.honeyd));
});

test('Honeyd `open emulate`: unknown emulators and products are errors at their line', () => {
  const { lines } = errorsOf('x.conf', 'create t\nadd t tcp port 80 open emulate http product "Tomcat"\nadd t tcp port 25 open emulate smtp product "qmail"\nadd t tcp port 9 open emulate gopher product "x"\n');
  const text = lines.join('\n');
  assert.match(text, /x\.conf:2:\d+: the HTTP emulator has no style for "Tomcat"/);
  assert.match(text, /x\.conf:3:\d+: the smtp emulator speaks as .*not "qmail"/);
  assert.match(text, /x\.conf:4:\d+: expected: open emulate ssh\|telnet\|http/);
});
