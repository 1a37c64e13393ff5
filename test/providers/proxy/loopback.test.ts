// Host-header and listen-address checks behind the proxy's DNS-rebinding defense.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostName, isLoopbackAddress, isLoopbackHost } from '../../../src/providers/proxy/loopback';

test('loopback Host headers', () => {
  for (const h of ['localhost', 'LOCALHOST:11435', 'localhost.', 'app.localhost:80', '127.0.0.1', '127.1.2.3:9', '[::1]:11435', '[::ffff:127.0.0.1]:1']) assert.equal(isLoopbackHost(h), true, h);
});

test('everything else is refused, including look-alikes', () => {
  for (const h of [undefined, '', 'evil.example', 'localhost.evil.example', 'localhost-evil.example', '127.0.0.1.nip.io', '0.0.0.0', '192.168.0.2:11434', '[::]:1', '[fe80::1]', '[::1', '128.0.0.1', 'localhostx', '[::1]evil.example', '[::1]:80:90', 'localhost:80:90', 'localhost:x', 'localhost, evil.example']) assert.equal(isLoopbackHost(h), false, String(h));
});

test('host names and listen addresses', () => {
  assert.equal(hostName('[::1]:8080'), '::1');
  assert.equal(hostName(' Example.COM.:80 '), 'example.com');
  assert.equal(hostName('localhost:'), 'localhost');
  assert.equal(hostName('[::1]x'), '');
  assert.equal(isLoopbackAddress('127.0.0.1'), true);
  assert.equal(isLoopbackAddress('::1'), true);
  assert.equal(isLoopbackAddress('0.0.0.0'), false);
  assert.equal(isLoopbackAddress('localhost'), false);
});
