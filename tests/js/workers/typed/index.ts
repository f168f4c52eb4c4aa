// A TypeScript Worker: the review's KV binding, typed.
interface Env {
  WORKERS: { get(key: string): Promise<string | null>; put(key: string, value: string): Promise<void> };
}

const greeting: string = 'typed';

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    await env.WORKERS.put('seen', new URL(request.url).pathname);
    return Response.json({ greeting, seen: await env.WORKERS.get('seen') });
  },
};
