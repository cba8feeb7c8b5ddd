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
