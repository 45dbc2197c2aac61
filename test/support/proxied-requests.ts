import { createServer, request as httpRequest, type Server } from 'node:http';

/** The reader's address in proxy tests: a loopback address other than the proxy's own, so the two can be told apart. */
export const CLIENT_ADDRESS = '127.0.0.5';
/** The public name the reader uses. */
export const HOST = 'books.example';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request as KOReader makes it, from CLIENT_ADDRESS to HOST: the path sent exactly as given, redirects never followed. */
export function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, method, path, localAddress: CLIENT_ADDRESS, headers: { host: `${HOST}:${port}`, ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Stands in for Calibre-Web behind the proxy: answers every path with what it received. */
export async function startCalibreWebStub(): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' }).end(`calibre-web stub: ${request.method} ${request.url}`);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return { server, port };
}
