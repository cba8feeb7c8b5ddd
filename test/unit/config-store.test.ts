import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfig } from '../../daemon/src/config/load';
import { parseListen } from '../../daemon/src/config/yaml';
import { errorsOf, removeDir, tempDir } from './config-test-support';

const BASE = `templates:\n  t: ~\nhosts:\n  - { address: 198.51.100.10, template: t }\n`;

test('store, capture, admin and sensor sections: defaults, relative paths, values', () => {
  const dir = tempDir({
    'x.yaml': `${BASE}store: { path: data, retention: { maxAgeDays: 7 } }\ncapture: { dir: pcap, maxFiles: 3 }\nadmin: { listen: "127.0.0.1:9090", token_file: token }\nsensor: { name: s1 }\n`,
  });
  try {
    const cfg = loadConfig(path.join(dir, 'x.yaml'), { checkDataFiles: false });
    assert.deepEqual(cfg.store, { path: path.join(dir, 'data'), flushIntervalMs: 250, queueLimit: 200_000, retention: { maxAgeDays: 7, maxBytes: 4 * 1024 ** 3 } });
    assert.deepEqual(cfg.capture, { dir: path.join(dir, 'pcap'), maxFileBytes: 64 << 20, maxFiles: 3, bufferBytes: 16 << 20 });
    assert.deepEqual(cfg.admin, { listen: '127.0.0.1:9090', tokenFile: path.join(dir, 'token') });
    assert.deepEqual(cfg.sensor, { name: 's1' });
  } finally {
    removeDir(dir);
  }
});

const BROKEN: [string, string, RegExp][] = [
  ['store_without_path', 'store: { flushIntervalMs: 100 }\n', /store: missing required key "path"|store.*path/],
  ['flush_too_slow', 'store: { path: d, flushIntervalMs: 5000 }\n', /store\.flushIntervalMs: expected an integer 10-1000, got 5000$/],
  ['bad_listen', 'admin: { listen: "everywhere" }\n', /admin\.listen: expected HOST:PORT with an IPv4 host, got "everywhere"$/],
  ['unknown_admin_key', 'admin: { tls: yes }\n', /admin.*tls/],
  ['cert_without_key', 'admin: { tls_cert: a.crt }\n', /admin\.tls_key: tls_cert is set but tls_key is not/],
  ['key_without_cert', 'admin: { tls_key: a.key }\n', /admin\.tls_cert: tls_key is set but tls_cert is not/],
];

test('admin TLS: certificate and key together, paths relative to the config', () => {
  const dir = tempDir({ 'x.yaml': `${BASE}admin: { listen: "0.0.0.0:8443", token_file: t, tls_cert: tls/a.crt, tls_key: tls/a.key }\n` });
  try {
    const cfg = loadConfig(path.join(dir, 'x.yaml'), { checkDataFiles: false });
    assert.deepEqual(cfg.admin?.tls, { certFile: path.join(dir, 'tls/a.crt'), keyFile: path.join(dir, 'tls/a.key') });
  } finally {
    removeDir(dir);
  }
});

for (const [name, yaml, expected] of BROKEN) {
  test(`yaml_rejects_${name}`, () => {
    const { lines } = errorsOf('x.yaml', `${BASE}${yaml}`);
    assert.ok(lines.some((l) => expected.test(l)), lines.join('\n'));
  });
}

test('listen addresses', () => {
  assert.deepEqual(parseListen('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(parseListen('localhost:1'), { host: 'localhost', port: 1 });
  assert.equal(parseListen('127.0.0.1:0'), undefined);
  assert.equal(parseListen('127.0.0.1:70000'), undefined);
  assert.equal(parseListen('[::1]:80'), undefined);
  assert.equal(parseListen('300.0.0.1:80'), undefined);
});
