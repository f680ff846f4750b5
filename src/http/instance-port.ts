// A second listening port per PM2 instance (INSTANCE_PORT_BASE + NODE_APP_INSTANCE). Under PM2 cluster mode every
// worker shares PORT and the primary hands connections out round robin, so two long-polling requests of one
// socket.io session can land on different workers ("Session ID unknown"). A port only instance i listens on lets
// nginx pin a client to one process: its socket.io upstream lists every instance port of every host.
// Connections are handed to the same http.Server, so timeouts, draining and socket.io apply unchanged.
import type http from 'node:http';
import net from 'node:net';

export function listenInstancePort(server: http.Server, port: number, host: string): Promise<net.Server> {
  const listener = net.createServer((socket) => server.emit('connection', socket));
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve(listener);
    });
  });
}
