// A Worker that compares, inside the simulated context, the Response class a Worker sees (string bodies kept
// as strings until a stream is needed: rmasim/js/host.mjs) with the platform's own (its parent class): values,
// errors, realms, states and the microtask turns each read takes. Each route answers {ours, platform}.

const Platform = Object.getPrototypeOf(Response);

// Microtask turns until `promise` settles.
async function turnsOf(promise) {
  let settled = false;
  promise.then(() => { settled = true; }, () => { settled = true; });
  let turns = 0;
  while (!settled && turns < 100) {
    await null;
    turns += 1;
  }
  return turns;
}

function errorOf(error) {
  return { name: error?.name, message: error?.message, sameRealm: error instanceof Error };
}

async function outcome(promise) {
  const isPromise = promise instanceof Promise;
  try {
    const value = await promise;
    return { ok: describe(value), isPromise };
  } catch (error) {
    return { error: errorOf(error), isPromise };
  }
}

function describe(value) {
  if (typeof value === 'string') return { string: value };
  if (value instanceof ArrayBuffer) return { buffer: 'this realm' };
  if (ArrayBuffer.isView(value)) return { view: value.constructor.name, bytes: Array.from(value), realm: value instanceof Uint8Array };
  if (value !== null && typeof value === 'object' && typeof value.byteLength === 'number') {
    return { buffer: 'other realm', bytes: Array.from(new Uint8Array(value)), size: value.byteLength };
  }
  if (value !== null && typeof value === 'object') return { object: JSON.stringify(value), realm: value instanceof Object };
  return { other: String(value) };
}

function state(response) {
  const body = response.body;
  return {
    bodyUsed: response.bodyUsed,
    body: body === null ? null : { stream: body instanceof ReadableStream, locked: body.locked },
    contentType: response.headers.get('content-type'),
    status: response.status,
  };
}

const BODIES = ['{"a":1}', '', '\uFEFF{"b":2}', 'a\uD800b', 'plain text', '{', '\uFEFF'];
const METHODS = ['text', 'json', 'arrayBuffer', 'bytes'];

// One case run with each class.
async function both(run) {
  return { ours: await run(Response), platform: await run(Platform) };
}

const ROUTES = {
  // Each read method of each body: the value or error, the turns it takes (read at once, or a turn after the
  // Response was made), and the state after it, then a second read.
  async reads() {
    return both(async (R) => {
      const out = [];
      for (const text of BODIES) {
        for (const method of METHODS) {
          const fresh = new R(text);
          const freshTurns = await turnsOf(fresh[method]());
          const later = new R(text);
          await null;
          const read = later[method]();
          const laterTurns = await turnsOf(read);
          out.push({ text, method, freshTurns, laterTurns, value: await outcome(read), after: state(later),
            again: await outcome(later[method]()), againTurns: await turnsOf(later[method]()) });
        }
      }
      return out;
    });
  },
  // Construction: statuses without a body, bad statuses and headers, content types given or not.
  async construct() {
    return both(async (R) => {
      const out = [];
      const inits = [undefined, null, {}, { status: 204 }, { status: 304 }, { status: 99 }, { status: 201, statusText: 'Made' },
        { statusText: 'bad\n' }, { headers: { 'Content-Type': 'application/json' } }, { headers: { 'bad name': 'x' } },
        { headers: [['x-a', '1']] }];
      for (const init of inits) {
        try {
          const r = new R('x', init);
          out.push({ init, made: { ...state(r), statusText: r.statusText, ok: r.ok, responseType: r.type, url: r.url,
            redirected: r.redirected, headers: [...r.headers], instance: r instanceof Platform } });
        } catch (error) {
          out.push({ init, error: errorOf(error) });
        }
      }
      return out;
    });
  },
  // The body stream: read through a reader, handed to another Response, teed by clone(); blob() and formData().
  async streams() {
    return both(async (R) => {
      const out = {};
      const a = new R('stream me');
      await null;
      const reader = a.body.getReader();
      const chunk = await reader.read();
      out.reader = { chunk: Array.from(chunk.value), done: chunk.done, used: a.bodyUsed, next: (await reader.read()).done };
      out.afterReader = await outcome(a.text());
      const b = new R('passed on');
      const c = new R(b.body, { status: 202 });
      out.passed = { b: state(b), c: state(c), text: await outcome(c.text()), bAfter: state(b) };
      const d = new R('cloned', { headers: { 'x-k': 'v' } });
      const e = d.clone();
      out.clone = { instance: e instanceof R, headers: [...e.headers], status: e.status,
        texts: [await outcome(d.text()), await outcome(e.text())], again: await outcome(d.text()) };
      const made = R === Response ? Response.json({ j: 1 }) : Platform.json({ j: 1 });
      out.jsonClone = { instance: made.clone() instanceof R, text: await outcome(made.clone().text()) };
      const f = new R('spent');
      await f.text();
      try {
        f.clone();
        out.spentClone = 'cloned';
      } catch (error) {
        out.spentClone = errorOf(error);
      }
      const g = new R('a=1&b=2', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      out.form = [...(await g.formData())];
      const h = new R('blob body');
      h.headers.set('content-type', 'text/x-changed');
      const blob = await h.blob();
      out.blob = { type: blob.type, text: await blob.text(), used: h.bodyUsed };
      const i = new R('read then body');
      await i.text();
      out.spentBody = state(i);
      return out;
    });
  },
};

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/proxy') { // the host reads a passed-on string stream: as text() reads it
      const answer = await fetch('https://gpu-0.tunnel.invalid/x');
      const response = new Response(answer.body, { status: answer.status });
      ctx.waitUntil((async () => { // once the host has sent it, the stream is spent
        await env.WORKERS.get('later');
        const seen = { answer: answer.bodyUsed, response: response.bodyUsed, locked: answer.body.locked };
        await env.WORKERS.put('seen', JSON.stringify(seen));
      })());
      return response;
    }
    if (url.pathname === '/proxy-read') { // a passed-on stream the handler read: the host cannot send it
      const answer = await fetch('https://gpu-0.tunnel.invalid/x');
      const response = new Response(answer.body);
      await answer.body.getReader().read().catch(() => null);
      return response;
    }
    const route = ROUTES[url.pathname.slice(1)];
    return new Response(JSON.stringify(await route()), { headers: { 'content-type': 'application/json' } });
  },
};
