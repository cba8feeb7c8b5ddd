import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DETECT } from '../../daemon/src/config/types';
import { configOf, errorsOf } from './config-test-support';

const BASE = `templates: { t: ~ }\nhosts: [{ address: 198.51.100.1, template: t }]\n`;

test('detect_defaults_when_absent', () => {
  assert.deepEqual(configOf('x.yaml', BASE).detect, DEFAULT_DETECT);
});

test('detect_keys_are_read', () => {
  const cfg = configOf('x.yaml', `${BASE}detect: { enabled: false, minPorts: 20, minTargets: 2, idleSeconds: 5, maxFlows: 64 }\n`);
  assert.equal(cfg.detect.enabled, false);
  assert.equal(cfg.detect.minPorts, 20);
  assert.equal(cfg.detect.minTargets, 2);
  assert.equal(cfg.detect.idleSeconds, 5);
  assert.equal(cfg.detect.maxFlows, 64);
  assert.equal(cfg.detect.windowSeconds, DEFAULT_DETECT.windowSeconds);
});

for (const [name, yaml, expected] of [
  ['unknown_key', 'detect: { minPort: 3 }\n', /detect\.minPort: /],
  ['flows_below_styles', 'detect: { maxFlows: 4 }\n', /detect\.maxFlows: expected an integer 12-1000000, got 4$/],
  ['os_probes_above_16', 'detect: { minOsProbes: 17 }\n', /detect\.minOsProbes: expected an integer 1-16, got 17$/],
  ['enabled_not_boolean', 'detect: { enabled: maybe }\n', /detect\.enabled: /],
] as const) {
  test(`detect_rejects_${name}`, () => {
    const { lines } = errorsOf('x.yaml', BASE + yaml);
    assert.ok(lines.some((line) => expected.test(line)), `no line matched ${expected}:\n${lines.join('\n')}`);
  });
}

test('detect_honeyd_options', () => {
  const cfg = configOf('x.conf', `create t\nbind 198.51.100.1 t\noption decoyd detect off\noption decoyd detect.minPorts 25\noption decoyd detect.idleSeconds 9\n`);
  assert.equal(cfg.detect.enabled, false);
  assert.equal(cfg.detect.minPorts, 25);
  assert.equal(cfg.detect.idleSeconds, 9);
  const bad = errorsOf('x.conf', `option decoyd detect.minOsProbes 40\noption decoyd detect.colour 1\noption decoyd detect maybe\n`);
  assert.match(bad.lines.join('\n'), /detect\.minOsProbes must be an integer 1-16, got "40"/);
  assert.match(bad.lines.join('\n'), /unknown decoyd option "detect\.colour"/);
  assert.match(bad.lines.join('\n'), /detect must be on or off, got "maybe"/);
});
