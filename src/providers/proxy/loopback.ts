// Loopback checks for the metering proxy: where it may listen, and which `Host` headers it serves.
// A browser page on evil.example can resolve its own name to 127.0.0.1 (DNS rebinding) and then talk to a
// local port; the Host header it sends still names evil.example, so only loopback names are accepted.
import { isIP } from 'node:net';

/** True for an IP literal in 127.0.0.0/8, ::1 or ::ffff:127.x. */
export function isLoopbackAddress(addr: string): boolean {
  const a = addr.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(a) === 4) return a.startsWith('127.');
  if (isIP(a) === 6) return a === '::1' || a === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(a);
  return false;
}

// RFC 9110 §7.2: host [ ":" port ], the host an IP-literal in brackets or a name without colons.
const HOST_FIELD = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::\d*)?$/;

/** Host name part of a Host header (`[::1]:8080` → `::1`, `Localhost.:80` → `localhost`); '' if malformed. */
export function hostName(hostHeader: string): string {
  const m = HOST_FIELD.exec(hostHeader.trim().toLowerCase());
  if (!m) return '';
  const name = m[1] ?? m[2]!;
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** A Host header naming this machine: `localhost`, `*.localhost` (RFC 6761), or a loopback IP. */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const name = hostName(hostHeader);
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name);
}
