// A Worker that compares the Request the host hands its fetch handler (made when first needed: rmasim/js/host.mjs)
// with the platform's own Request made from the same inputs, inside the simulated context.

const Platform = Object.getPrototypeOf(Request);
const MEMBERS = ['url', 'method', 'destination', 'referrer', 'referrerPolicy', 'mode', 'credentials', 'cache',
  'redirect', 'integrity', 'keepalive', 'isReloadNavigation', 'isHistoryNavigation', 'duplex'];

function shape(request) {
  const out = {};
  for (const name of MEMBERS) out[name] = request[name];
  out.headers = [...request.headers];
  out.signal = { aborted: request.signal.aborted, isSignal: request.signal instanceof AbortSignal };
  out.body = request.body === null ? null : request.body instanceof ReadableStream;
  out.bodyUsed = request.bodyUsed;
  out.tag = Object.prototype.toString.call(request);
  out.isPlatform = request instanceof Platform;
  return out;
}

async function errorOf(promise) {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return { name: error.name, message: error.message };
  }
}

export default {
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path.startsWith('/early')) {
      // Read first, before anything else makes the platform's Request.
      const early = { url: request.url, method: request.method, body: request.body, bodyUsed: request.bodyUsed };
      const platform = new Platform(early.url, { method: request.method });
      return Response.json({ early, platform: { url: platform.url, method: platform.method, body: platform.body,
        bodyUsed: platform.bodyUsed } });
    }
    if (path === '/members') {
      const platform = new Platform(request.url, { method: request.method, headers: [...request.headers] });
      const copy = new Request(request, { headers: { 'x-copy': '1' } });
      const clone = request.clone();
      return Response.json({
        ours: shape(request),
        platform: shape(platform),
        classes: {
          instance: request instanceof Request,
          constructor: request.constructor === Request,
          prototype: Object.getPrototypeOf(request) === Request.prototype,
          length: [Request.length, Platform.length],
          methods: ['text', 'json', 'clone', 'arrayBuffer'].map((m) => [Request.prototype[m].name,
            Request.prototype[m].length, Platform.prototype[m].length]),
          clone: [clone instanceof Request, clone.url === request.url, clone !== request],
          copy: [copy instanceof Request, copy.url, copy.method, copy.headers.get('x-copy')],
          noArgument: await errorOf((async () => new Request())()),
        },
      });
    }
    if (path === '/body') {
      const used = request.bodyUsed;
      const text = await request.text();
      return Response.json({ used, text, after: request.bodyUsed, again: await errorOf(request.text()),
        stream: request.body instanceof ReadableStream });
    }
    if (path === '/forward') { // fetch() of the request itself
      const answer = await fetch(request);
      return new Response(await answer.text(), { status: answer.status });
    }
    return Response.json({ method: request.method, url: request.url });
  },
};
