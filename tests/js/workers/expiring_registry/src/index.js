// A service coordinator whose registry is a set of expiring keys: `worker:{id}` -> the worker's record, written at
// registration and rewritten by every heartbeat with `expirationTtl: 90` and metadata {services, tunnel_url}. No
// index, no cleanup job: a worker that stops heartbeating expires 90 s after its last heartbeat, and the proxy
// finds the providers of a service with one list({prefix: 'worker:'}), reading each key's metadata.
// Each heartbeat and each routing decision is logged (console.log), with the time read before its KV call.

const TTL_SECONDS = 90;
const PREFIX = 'worker:';

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path.startsWith('/api/service/')) return route(path, url, request, env);
    if (request.method === 'POST' && path === '/api/worker/register') return register(await request.json(), env);
    if (request.method === 'POST' && path === '/api/worker/heartbeat') return heartbeat(await request.json(), env);
    if (request.method === 'POST' && path === '/api/worker/unregister') {
      const data = await request.json();
      await env.WORKERS.delete(PREFIX + data.worker_id);
      return Response.json({ status: 'ok' });
    }
    return Response.json({ error: 'not found' }, { status: 404 });
  },
};

function save(env, record) {
  return env.WORKERS.put(PREFIX + record.id, JSON.stringify(record), {
    expirationTtl: TTL_SECONDS,
    metadata: { services: record.services.map((s) => s.name), tunnel_url: record.tunnel_url },
  });
}

async function register(data, env) {
  const id = `worker-${Math.random().toString(36).slice(2, 11)}`;
  const now = Date.now() / 1000;
  const record = {
    id, tunnel_url: data.tunnel_url, services: data.services || [], status: 'healthy',
    current_load: 0, last_heartbeat: now, registered_at: now,
  };
  await save(env, record);
  console.log(JSON.stringify({ heartbeat: id, t: now }));
  return Response.json({ worker_id: id, is_heartbeat_leader: false });
}

async function heartbeat(data, env) {
  const record = await env.WORKERS.get(PREFIX + data.worker_id, 'json');
  if (!record) return Response.json({ error: 'worker not found' }, { status: 404 });
  const now = Date.now() / 1000; // the clock as the put below is issued
  await save(env, { ...record, status: data.status ?? 'healthy', current_load: data.current_load ?? 0,
    last_heartbeat: now });
  console.log(JSON.stringify({ heartbeat: data.worker_id, t: now }));
  return Response.json({ status: 'ok' });
}

async function route(path, url, request, env) {
  const service = path.split('/')[3];
  const rest = path.slice(`/api/service/${service}`.length);
  const t = Date.now() / 1000; // the clock as the list below is issued
  const providers = [];
  let cursor;
  do {
    const page = await env.WORKERS.list({ prefix: PREFIX, cursor });
    providers.push(...page.keys.filter((key) => key.metadata?.services?.includes(service)));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  console.log(JSON.stringify({ route: service, t, listed: providers.map((key) => key.name.slice(PREFIX.length)) }));
  if (providers.length === 0) {
    return Response.json({ error: `service ${service} unavailable`, reason: 'no_provider' }, { status: 503 });
  }
  const target = providers[Math.floor(Math.random() * providers.length)];
  try {
    const response = await fetch(`${target.metadata.tunnel_url}/${service}${rest}${url.search}`, {
      method: request.method,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
    });
    return new Response(response.body, { status: response.status });
  } catch (error) {
    return Response.json({ error: 'worker unreachable', worker_id: target.name }, { status: 502 });
  }
}
