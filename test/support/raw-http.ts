import { connect } from 'node:net';

/** Sends raw bytes over a real connection and returns everything the server wrote before closing. */
export function rawExchange(port: number, bytes: string | Buffer, options: { localAddress?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...options });
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(answer) : reject(error)));
    socket.write(bytes);
  });
}

export function statusAndBody(raw: string): { status: string; contentType: string | undefined; body: string } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  return { status: head.split('\r\n')[0]!, contentType: /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1], body };
}
