/**
 * A pass-through HTTP proxy on loopback in front of an Elasticsearch node that also answers
 * `GET /` with the node's version. The minimal distribution the benchmarks start has no `GET /`
 * handler (405), and elasticdump asks it for the version before anything else and stops there.
 * Everything else is streamed through unchanged, over kept-alive connections.
 */
import http from 'node:http';

export interface RootInfoProxy {
  url: string;
  close(): Promise<void>;
}

export async function startRootInfoProxy(target: string, version: string): Promise<RootInfoProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url?.startsWith('/?'))) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: 'bench', cluster_name: 'bench', version: { number: version, build_flavor: 'default' }, tagline: 'You Know, for Search' }));
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
