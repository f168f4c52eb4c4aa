// A Worker with one route per behaviour the tests check (tests/js/).
let counter = 0;

const routes = {
  '/kv/get-text': async (env) => ({ value: await env.WORKERS.get('a') }),
  '/kv/get-json': async (env) => ({
    json: await env.WORKERS.get('a', 'json'),
    typed: await env.WORKERS.get('a', { type: 'json', cacheTtl: 60 }),
    missing: await env.WORKERS.get('nothing', 'json'),
  }),
  '/kv/get-bulk': async (env) => Object.fromEntries(await env.WORKERS.get(['a', 'nothing', 'leader'], 'json')),
  '/kv/get-bulk-text': async (env) => Object.fromEntries(await env.WORKERS.get(['a', 'leader'])),
  '/kv/meta': async (env) => env.WORKERS.getWithMetadata('a', 'json'),
  '/kv/meta-bulk': async (env) => Object.fromEntries(await env.WORKERS.getWithMetadata(['a', 'b'], 'json')),
  '/kv/put': async (env) => {
    await env.WORKERS.put('rec', JSON.stringify({ x: 1, y: [1, 2] }));
    await env.WORKERS.put('leader', 'worker-1');
    await env.WORKERS.put('spaced', '{ "x": 1 }');
    return { ok: await env.WORKERS.get('spaced') };
  },
  '/kv/put-ttl': async (env) => {
    await env.WORKERS.put('t', 'v', { expirationTtl: 120, metadata: { service: 'rag' } });
    await env.WORKERS.put('u', 'w', { expiration: 2000 });
    const listed = await env.WORKERS.list({ prefix: '' });
    return { listed, meta: await env.WORKERS.getWithMetadata('t') };
  },
  '/kv/put-soon': async (env) => env.WORKERS.put('t', 'v', { expiration: Math.floor(Date.now() / 1000) + 30 }),
  '/kv/put-big-metadata': async (env) => env.WORKERS.put('t', 'v', { metadata: 'x'.repeat(1023) }),
  '/kv/put-short-ttl': async (env) => env.WORKERS.put('t', 'v', { expirationTtl: 10 }),
  '/kv/delete': async (env) => env.WORKERS.delete('a'),
  '/kv/list': async (env) => {
    const first = await env.WORKERS.list({ prefix: 'service:', limit: 2 });
    const rest = await env.WORKERS.list({ prefix: 'service:', cursor: first.cursor });
    return { first, rest };
  },
  '/kv/bad-cache-ttl': async (env) => env.WORKERS.get('a', { cacheTtl: 5 }),
  '/time': async (env) => {
    const t0 = Date.now();
    const t1 = new Date().getTime();
    const p0 = performance.now();
    await env.WORKERS.get('a');
    return { t0, t1, p0, t2: Date.now(), iso: new Date().toISOString(), called: typeof Date() };
  },
  '/random': async () => ({ r: [Math.random(), Math.random()], uuid: crypto.randomUUID() }),
  '/globals': async () => {
    const refused = (f) => { try { f(); return null; } catch (e) { return `${e.name}: ${e.message}`; } };
    return {
      process: typeof process, require: typeof require, Buffer: typeof Buffer, setImmediate: typeof setImmediate,
      WeakRef: typeof WeakRef, fetch: typeof fetch, Response: typeof Response,
      eval: refused(() => eval('1 + 1')), Function: refused(() => new Function('return 1')),
      caches: refused(() => caches.default), process_use: refused(() => process.env),
    };
  },
  '/fetch': async (env, request) => {
    const url = new URL(request.url);
    const signal = url.searchParams.has('timeout') ? AbortSignal.timeout(2500) : undefined;
    try {
      const response = await fetch('https://gpu-0.tunnel.invalid/upload/process?x=1', {
        method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'x-trace': 'abc' }, signal,
      });
      return { status: response.status, body: await response.json() };
    } catch (error) {
      return { error: error.name, message: error.message };
    }
  },
  '/sleep': async (env) => {
    const before = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return { slept: Date.now() - before };
  },
  '/poll-forever': async () => {
    for (;;) await new Promise((resolve) => setTimeout(resolve, 7000)); // never answers, never idle
  },
  '/cleared-timer': async () => {
    const id = setTimeout(() => {}, 10000);
    clearTimeout(id);
    return { cleared: id };
  },
  '/log': async () => {
    console.log('hello', { a: 1 });
    console.warn('careful');
    return {};
  },
  '/throw': async () => { throw new Error('boom'); },
  '/hang': async () => new Promise(() => {}),
  '/all': async (env) => {
    const [a, b] = await Promise.all([env.WORKERS.get('a'), env.WORKERS.get('b')]);
    return { a, b };
  },
  '/counter': async () => ({ counter: ++counter }),
  '/responses': async () => {
    const made = [new Response('x'), Response.json({ a: 1 }), Response.redirect('https://a.invalid/', 302),
      Response.error()];
    const used = new Response('once');
    await used.text();
    return {
      instances: made.map((r) => r instanceof Response),
      statuses: made.map((r) => r.status),
      json: await made[1].json(),
      reread: await used.text().then(() => 'read twice', (e) => e.name),
    };
  },
  '/used-body': async () => {
    const response = new Response('spent');
    await response.text();
    return response;
  },
  '/not-a-response': null,
};

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/not-a-response') return { not: 'a response' };
    if (url.pathname === '/used-body') return routes['/used-body']();
    if (url.pathname === '/wait-forever') {
      ctx.waitUntil((async () => { for (;;) await env.WORKERS.get('a'); })());
      return new Response('early', { status: 202 });
    }
    if (url.pathname === '/wait') {
      ctx.waitUntil(env.WORKERS.put('background', 'done'));
      return new Response('early', { status: 202 });
    }
    if (url.pathname === '/headers') return Response.json(Object.fromEntries(request.headers));
    if (url.pathname === '/echo') {
      return Response.json({ method: request.method, body: await request.json(), vars: env.GREETING ?? null });
    }
    const route = routes[url.pathname];
    if (!route) return new Response('not found', { status: 404 });
    const result = await route(env, request);
    return Response.json(result ?? {});
  },
  async scheduled(controller, env, ctx) {
    await env.WORKERS.put('cron', `${controller.cron}@${controller.scheduledTime}`);
  },
};
