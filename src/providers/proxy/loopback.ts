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

/** Host name part of a Host header (`[::1]:8080` → `::1`, `Localhost.:80` → `localhost`). */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? '' : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  const name = colon === -1 ? h : h.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** A Host header naming this machine: `localhost`, `*.localhost` (RFC 6761), or a loopback IP. */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const name = hostName(hostHeader);
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name);
}
