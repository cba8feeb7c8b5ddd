import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyDirectory, keepKeysIn, keyFileName } from '../../daemon/src/services/keys/key-directory';
import { HostKeyStore } from '../../daemon/src/services/ssh/host-keys';
import { issueHostCertificate } from '../../daemon/src/services/tls/cert';

test('key file names keep only safe characters', () => {
  assert.equal(keyFileName(['ssh', '198.51.100.7', 'rsa', '3072']), 'ssh_198.51.100.7_rsa_3072.pem');
  assert.equal(keyFileName(['tls', '../../etc/passwd', '']), 'tls_.._.._etc_passwd_.pem');
});

test('SSH host keys and certificate keys survive a restart, differ per host, and respect the bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-keys-'));
  try {
    const reports: string[] = [];
    keepKeysIn(new KeyDirectory(join(dir, 'keys')), (m) => reports.push(m));
    // Two stores stand for two daemon runs: nothing is shared in memory.
    const first = await new HostKeyStore(4).keysFor('198.51.100.7', ['ed25519', 'ecdsa'], 3072);
    const again = await new HostKeyStore(4).keysFor('198.51.100.7', ['ed25519', 'ecdsa'], 3072);
    const other = await new HostKeyStore(4).keysFor('198.51.100.8', ['ed25519'], 3072);
    assert.deepEqual(again.fingerprints, first.fingerprints);
    assert.notEqual(other.fingerprints.ed25519, first.fingerprints.ed25519);

    const req = { hostname: 'www.example.org', address: '198.51.100.7', seed: 42, profile: { style: 'snakeoil', keyType: 'ec-p256', validityDays: 3650, minAgeDays: 20 } } as const;
    const c1 = await issueHostCertificate(req);
    const c2 = await issueHostCertificate(req);
    assert.equal(c2.keyPem, c1.keyPem);
    assert.equal(c2.serialHex, c1.serialHex);
    const files = readdirSync(join(dir, 'keys'));
    assert.equal(files.length, 4);
    for (const f of files) assert.equal(statSync(join(dir, 'keys', f)).mode & 0o777, 0o600);

    // Past the bound keys are made but not stored, and that is said once.
    keepKeysIn(new KeyDirectory(join(dir, 'keys'), undefined, 4), (m) => reports.push(m));
    const a = await new HostKeyStore(4).keysFor('198.51.100.9', ['ed25519'], 3072);
    const b = await new HostKeyStore(4).keysFor('198.51.100.9', ['ed25519'], 3072);
    assert.notEqual(a.fingerprints.ed25519, b.fingerprints.ed25519);
    assert.equal(readdirSync(join(dir, 'keys')).length, 4);
    assert.equal(reports.filter((r) => r.includes('keys stored already')).length, 1);
  } finally {
    keepKeysIn(undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
