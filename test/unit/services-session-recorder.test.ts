import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecoyEvent, DecoyEventKind, EventSink } from '../../daemon/src/events/event';
import { excerpt, SessionRecorder } from '../../daemon/src/services/interactive/session-recorder';

function collect(): { sink: EventSink; events: DecoyEvent[] } {
  const events: DecoyEvent[] = [];
  return { events, sink: { wants: (_k: DecoyEventKind) => true, emit: (e) => events.push(e) } };
}
const CONN = { proto: 'tcp' as const, srcIp: '198.51.100.2', srcPort: 40000, dstIp: '198.51.100.10', dstPort: 22 };

test('excerpt escapes non-printables and cuts at the byte bound', () => {
  assert.equal(excerpt(Buffer.from([0x41, 0x0d, 0x0a, 0x00, 0x5c, 0xff]), 10), 'A\\r\\n\\x00\\\\\\xff');
  assert.equal(excerpt('abcdef', 3), 'abc');
});

test('the transcript keeps at most transcriptBytes and counts the rest', () => {
  const { sink, events } = collect();
  const rec = new SessionRecorder(sink, CONN, 'ssh', 'OpenSSH', { transcriptBytes: 10, bodyExcerptBytes: 4, fieldBytes: 5, maxHeaders: 1 });
  rec.fromClient('12345678');
  rec.toClient('abcdef');
  rec.fromClient(Buffer.alloc(1000));
  rec.close();
  rec.close();
  const sessions = events.filter((e) => e.kind === 'service.session');
  assert.equal(sessions.length, 1);
  const s = sessions[0];
  assert.ok(s !== undefined && s.kind === 'service.session');
  assert.equal(s.transcript, '> 12345678\n< ab\n');
  assert.equal(s.transcriptDropped, 4 + 1000);
  assert.equal(s.bytesIn, 1008);
  assert.equal(s.bytesOut, 6);
});

test('step fields are cut to their bounds', () => {
  const { sink, events } = collect();
  const rec = new SessionRecorder(sink, CONN, 'http', 'nginx', { transcriptBytes: 10, bodyExcerptBytes: 4, fieldBytes: 5, maxHeaders: 1 });
  rec.setClientVersion('SSH-2.0-averylongclient');
  rec.login({ authMethod: 'password', user: 'administrator', password: 'x'.repeat(100), result: 'refused' });
  rec.request({ method: 'GET', path: '/a/very/long/path', headers: ['Host: a', 'X: b'], body: 'bodybody', bodyBytes: 8 });
  const login = events[0];
  assert.ok(login?.kind === 'service.login');
  assert.equal(login.user, 'admin');
  assert.equal(login.password, 'xxxxx');
  assert.equal(login.clientVersion, 'SSH-2');
  const req = events[1];
  assert.ok(req?.kind === 'service.request');
  assert.deepEqual(req.headers, ['Host:']);
  assert.equal(req.body, 'body');
  assert.equal(req.path, '/a/ve');
});
