/**
 * The admin HTTP API, on `node:http`: eight routes of JSON in and out need no framework, and the
 * proxy's dependency surface stays small (docs/operations.md, "Admin API"). Every error is a JSON
 * `{ code, message }` with its status. A bearer token guards every route but `/healthz` when one is
 * configured (it must be when the API listens off loopback).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@handoff/types';

/** An admin API error: the status and the JSON body `{ code, message }`. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/** A successful answer. */
export interface AdminReply {
  readonly status: number;
  readonly body: unknown;
}

/** What the proxy does for each route. Throw an {@link AdminError} for an error status. */
export interface AdminOperations {
  health(): AdminReply;
  metrics(): Promise<{ readonly contentType: string; readonly text: string }>;
  sessions(): AdminReply;
  session(clientUuid: string): AdminReply;
  migrate(clientUuid: string, body: unknown): Promise<AdminReply>;
  drain(backend: string, body: unknown): AdminReply;
  undrain(backend: string): AdminReply;
  backends(): AdminReply;
}

/** Options of {@link startAdminServer}. */
export interface AdminServerInit {
  readonly host: string;
  readonly port: number;
  /** Required on every route but `/healthz` when set. */
  readonly token?: string | undefined;
  readonly operations: AdminOperations;
  readonly logger?: Logger | undefined;
}

/** A running admin server. */
export interface AdminServer {
  readonly address: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

/** How long closing the admin server waits for requests in flight before it drops them. */
const CLOSE_BOUND_MS = 1000;

/** The largest request body read (a migrate or drain body is a few dozen bytes). */
export const MAX_BODY_BYTES = 16 * 1024;

const UUID_SEGMENT = '([^/]+)';
const ID_SEGMENT = '([^/]+)';

interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, (match: RegExpExecArray, request: IncomingMessage) => Promise<AdminReply | 'metrics'> | AdminReply | 'metrics'>>;
  readonly public?: boolean;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  // the body is JSON whatever the Content-Type says (`curl -d` sends a form type)
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AdminError(413, 'payload-too-large', `the body must be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new AdminError(400, 'bad-request', 'the body must be a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AdminError(400, 'bad-request', 'the body is not valid JSON');
  }
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(text);
}

/** Starts the admin server; resolves once it listens. */
export async function startAdminServer(init: AdminServerInit): Promise<AdminServer> {
  const { operations, logger } = init;
  const expected = init.token === undefined ? undefined : digest(init.token);
  const routes: Route[] = [
    { pattern: /^\/healthz$/, public: true, methods: { GET: () => operations.health() } },
    { pattern: /^\/metrics$/, methods: { GET: () => 'metrics' } },
    { pattern: /^\/sessions$/, methods: { GET: () => operations.sessions() } },
    { pattern: new RegExp(`^/sessions/${UUID_SEGMENT}$`), methods: { GET: (m) => operations.session(decodeURIComponent(m[1]!)) } },
    {
      pattern: new RegExp(`^/sessions/${UUID_SEGMENT}/migrate$`),
      methods: { POST: async (m, request) => operations.migrate(decodeURIComponent(m[1]!), await readJson(request)) },
    },
    { pattern: /^\/backends$/, methods: { GET: () => operations.backends() } },
    {
      pattern: new RegExp(`^/backends/${ID_SEGMENT}/drain$`),
      methods: {
        POST: async (m, request) => operations.drain(decodeURIComponent(m[1]!), await readJson(request)),
        DELETE: (m) => operations.undrain(decodeURIComponent(m[1]!)),
      },
    },
  ];

  const authorized = (request: IncomingMessage): boolean => {
    if (expected === undefined) return true;
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return false;
    // compare digests: constant time whatever the length of what was sent
    return timingSafeEqual(digest(match[1]!), expected);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0]!;
    const route = routes.find((r) => r.pattern.test(path));
    if (!route) throw new AdminError(404, 'not-found', `no route ${path}`);
    if (!route.public && !authorized(request)) {
      throw new AdminError(401, 'unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
    }
    const method = request.method ?? 'GET';
    const handler = route.methods[method] ?? (method === 'HEAD' ? route.methods.GET : undefined);
    if (!handler) {
      const allow = Object.keys(route.methods).join(', ');
      response.setHeader('allow', allow);
      throw new AdminError(405, 'method-not-allowed', `${method} is not allowed here (allowed: ${allow})`);
    }
    const match = route.pattern.exec(path)!;
    let reply: AdminReply | 'metrics';
    try {
      reply = await handler(match, request);
    } catch (error) {
      if (error instanceof URIError) throw new AdminError(400, 'bad-request', 'the path is not valid percent-encoding');
      throw error;
    }
    if (reply === 'metrics') {
      const { contentType, text } = await operations.metrics();
      response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      response.end(method === 'HEAD' ? undefined : text);
      return;
    }
    send(response, reply.status, reply.body);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof AdminError) {
        const headers: Record<string, string> = error.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
        // an error body must not leave the rest of a large request unread on a kept-alive connection
        if (error.status === 413) headers.connection = 'close';
        send(response, error.status, { code: error.code, message: error.message }, headers);
        logger?.debug?.({ method: request.method, path: (request.url ?? '').split('?')[0], status: error.status, code: error.code }, 'admin request refused');
        return;
      }
      logger?.error?.({ err: error, method: request.method }, 'admin request failed');
      send(response, 500, { code: 'internal-error', message: 'the request failed inside the proxy' });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: init.host, port: init.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: bound.address, port: bound.port },
    // requests in flight are answered (bounded by CLOSE_BOUND_MS); idle connections go at once
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_BOUND_MS);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
